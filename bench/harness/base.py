"""What every part of the harness shares: the project's paths, the log, BenchError."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
VENV_BIN = ROOT / ".venv" / "bin"


def log(bench: str, message: str) -> None:
    print(f"[{bench}] {message}", file=sys.stderr, flush=True)


class BenchError(Exception):
    """The stack could not be set up, or a process died."""
