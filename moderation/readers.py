"""Who is reporting: the reporter key of a request.

A signed-in reader is their user. An anonymous reader is a random id kept in
a signed cookie, so a reader who reports twice counts once, and a forged
cookie value (unsigned or signed with another key) is simply a new reader.
"""

import uuid
from dataclasses import dataclass

from django.conf import settings
from django.http import HttpRequest, HttpResponse

_COOKIE_SALT = "signalement.reader"


@dataclass(frozen=True)
class Reader:
    reporter_key: str
    user_id: int | None
    # Set when the reader is anonymous and has no valid cookie yet.
    new_reader_id: str | None = None


def reader_from_request(request: HttpRequest) -> Reader:
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return Reader(reporter_key=f"user:{user.pk}", user_id=user.pk)
    reader_id = request.get_signed_cookie(
        settings.READER_COOKIE_NAME, default=None, salt=_COOKIE_SALT
    )
    if reader_id and _is_reader_id(reader_id):
        return Reader(reporter_key=f"reader:{reader_id}", user_id=None)
    reader_id = uuid.uuid4().hex
    return Reader(reporter_key=f"reader:{reader_id}", user_id=None, new_reader_id=reader_id)


def remember_reader(response: HttpResponse, reader: Reader) -> None:
    """Set the reader cookie on the response when the reader is new."""
    if reader.new_reader_id is None:
        return
    response.set_signed_cookie(
        settings.READER_COOKIE_NAME,
        reader.new_reader_id,
        salt=_COOKIE_SALT,
        max_age=settings.READER_COOKIE_MAX_AGE,
        secure=settings.READER_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )


def _is_reader_id(value: str) -> bool:
    try:
        return uuid.UUID(hex=value).hex == value
    except ValueError:
        return False
