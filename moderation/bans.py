"""Hash bans outside the services: each worker's index of banned pHashes, and the CSV format.

The index: every process holds the active pHash bans in one `HashIndex`, loaded on first
use. Before each use it reads one row, `BlockedHashVersion.token`, which every transaction
that creates or lifts bans rewrites (the services upsert it); a token other than the one
it loaded with means the bans changed, and the index is rebuilt whole and swapped in.
The token is read before the bans are loaded, so a change committed in between only
causes one extra rebuild, never a stale index. One primary-key read per upload is cheap
beside the Pillow work it follows; a rebuild reads `(id, phash)` from a partial index.

The CSV: `kind,value,label,created_at`, a header line first. A pHash is written as 16
hex digits (the unsigned 64-bit value, as hash lists exchange it) and read as that or as
a signed decimal integer (what the database holds); a sha256 as 64 hex digits.
"""

import csv
import io
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import cast

from django.utils.translation import gettext as _

from moderation.hashing import HashIndex, to_signed
from moderation.models import BanKind, BlockedHash, BlockedHashVersion

_lock = threading.Lock()
_cached: tuple[str | None, HashIndex] | None = None


def _current_token() -> str | None:
    return BlockedHashVersion.objects.filter(pk=1).values_list("token", flat=True).first()


def phash_index() -> HashIndex:
    """The active pHash bans of this process, rebuilt when the bans have changed."""
    global _cached
    token = _current_token()
    with _lock:
        cached = _cached
    if cached is not None and cached[0] == token:
        return cached[1]
    # A pHash ban has its pHash (moderation_ban_value_of_kind): the column alone is nullable.
    index = HashIndex(
        cast(
            Iterable[tuple[int, int]],
            BlockedHash.objects.filter(kind=BanKind.PHASH, lifted_at__isnull=True)
            .order_by("id")
            .values_list("id", "phash"),
        )
    )
    with _lock:
        _cached = (token, index)
    return index


def forget_index() -> None:
    """Drop this process's index: the next use rebuilds it (tests)."""
    global _cached
    with _lock:
        _cached = None


# --- CSV ------------------------------------------------------------------------------

CSV_HEADER = ["kind", "value", "label", "created_at"]
# A CharField's max_length is set (Field types it as optional).
LABEL_MAX_LENGTH = cast(int, BlockedHash._meta.get_field("label").max_length)
_HEX16 = re.compile(r"^(0x)?[0-9a-f]{16}$")
_SIGNED = re.compile(r"^-?[0-9]{1,20}$")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class BanRow:
    kind: str
    # A signed 64-bit int for a pHash, 64 lowercase hex digits for a sha256.
    value: int | str
    label: str = ""


def csv_export(bans: Iterable[BlockedHash]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    for ban in bans:
        writer.writerow([ban.kind, ban.value_text, ban.label, ban.created_at.isoformat()])
    return out.getvalue()


def csv_parse(text: str) -> tuple[list[BanRow], list[tuple[int, str]]]:
    """The rows of a ban CSV, and the (line number, message) of every row refused.

    The header is optional; `created_at` is ignored (an imported ban is created now).
    """
    rows: list[BanRow] = []
    errors: list[tuple[int, str]] = []
    for line_number, fields in enumerate(csv.reader(io.StringIO(text)), start=1):
        if not fields or all(not field.strip() for field in fields):
            continue
        if line_number == 1 and [f.strip().lower() for f in fields[:2]] == CSV_HEADER[:2]:
            continue
        try:
            rows.append(_parse_row(fields))
        except ValueError as error:
            errors.append((line_number, str(error)))
    return rows, errors


def _parse_row(fields: list[str]) -> BanRow:
    if len(fields) < 2:
        raise ValueError(_("expected kind,value[,label[,created_at]]"))
    kind, value = fields[0].strip().lower(), fields[1].strip().lower()
    label = fields[2].strip() if len(fields) > 2 else ""
    if len(label) > LABEL_MAX_LENGTH:
        raise ValueError(_("label longer than %(n)d characters") % {"n": LABEL_MAX_LENGTH})
    if kind == BanKind.PHASH:
        if _HEX16.match(value):
            return BanRow(
                kind=kind, value=to_signed(int(value.removeprefix("0x"), 16)), label=label
            )
        if _SIGNED.match(value):
            number = int(value)
            if -(1 << 63) <= number < (1 << 63):
                return BanRow(kind=kind, value=number, label=label)
        raise ValueError(
            _("a phash is 16 hex digits or a signed 64-bit integer, not %(value)r")
            % {"value": value[:80]}
        )
    if kind == BanKind.SHA256:
        if _HEX64.match(value):
            return BanRow(kind=kind, value=value, label=label)
        raise ValueError(_("a sha256 is 64 hex digits, not %(value)r") % {"value": value[:80]})
    raise ValueError(_("unknown kind %(kind)r (phash or sha256)") % {"kind": kind[:40]})
