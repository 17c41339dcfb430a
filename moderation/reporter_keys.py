"""Who made a report, as Report.reporter_key stores it. This type owns the format:
"user:<id>" for a signed-in reader, "reader:<32 hex digits>" for an anonymous reader's
cookie id (readers.reader_from_request)."""

import re
import uuid
from dataclasses import dataclass
from enum import StrEnum


class KeyKind(StrEnum):
    USER = "user"
    READER = "reader"


_FORMAT = re.compile(r"(user):([1-9][0-9]*)|(reader):([0-9a-f]{32})", re.ASCII)


@dataclass(frozen=True)
class ReporterKey:
    kind: KeyKind
    ident: str

    @classmethod
    def for_user(cls, user_id: int) -> "ReporterKey":
        return cls(kind=KeyKind.USER, ident=str(int(user_id)))

    @classmethod
    def for_reader(cls, reader_id: str) -> "ReporterKey":
        """Raises ValueError unless `reader_id` is a reader id as the cookie carries it."""
        if not is_reader_id(reader_id):
            raise ValueError("a reader id is 32 lowercase hex digits")
        return cls(kind=KeyKind.READER, ident=reader_id)

    @classmethod
    def parse(cls, text: str) -> "ReporterKey":
        """Raises ValueError for anything but "user:<id>" or "reader:<32 hex digits>"."""
        match = _FORMAT.fullmatch(text)
        if match is None:
            raise ValueError("a reporter key is 'user:<id>' or 'reader:<32 hex digits>'")
        kind, ident = (match[1], match[2]) if match[1] else (match[3], match[4])
        return cls(kind=KeyKind(kind), ident=ident)

    @classmethod
    def is_valid(cls, text: str) -> bool:
        return _FORMAT.fullmatch(text) is not None

    def __str__(self) -> str:
        return f"{self.kind}:{self.ident}"


def new_reader_id() -> str:
    return uuid.uuid4().hex


def is_reader_id(value: str) -> bool:
    try:
        return uuid.UUID(hex=value).hex == value
    except ValueError:
        return False
