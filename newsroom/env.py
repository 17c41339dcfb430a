"""Typed readers for settings that come from the environment (12-factor)."""

import os
import re
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str) -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), got {raw!r}")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, got {raw!r}") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, got {value}")
    return value


def env_decimal(name: str, default: str, *, minimum: str | None = None) -> Decimal:
    raw = os.environ.get(name, default)
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise ImproperlyConfigured(f"{name} must be a decimal number, got {raw!r}") from None
    if not value.is_finite() or (minimum is not None and value < Decimal(minimum)):
        raise ImproperlyConfigured(f"{name} must be a number of at least {minimum}, got {raw!r}")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


_RATE_UNITS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
_RATE = re.compile(
    r"(?P<count>\d+)/(?:(?P<unit>second|minute|hour|day)|(?P<seconds>\d+)s)", re.ASCII
)


def parse_rates(raw: str) -> list[tuple[int, int]]:
    """Parse "10/minute,100/day" or "3/2s" into [(count, seconds), ...].

    An empty value means no limit at all: [].
    """
    if not raw.strip():
        return []
    rates: list[tuple[int, int]] = []
    for item in (part.strip() for part in raw.split(",")):
        match = _RATE.fullmatch(item.lower())
        if match is None:
            raise ImproperlyConfigured(
                f"bad rate {item!r} in {raw!r}: write N/second, N/minute, N/hour, N/day or "
                "N/<k>s, comma-separated (e.g. '10/minute,100/day'); empty turns limits off"
            )
        count = int(match["count"])
        seconds = _RATE_UNITS[match["unit"]] if match["unit"] else int(match["seconds"])
        if count < 1 or seconds < 1:
            # 0/minute would refuse everything; "" is how limits are turned off.
            raise ImproperlyConfigured(
                f"bad rate {item!r} in {raw!r}: the count and the window must be at least 1"
            )
        if any(window == seconds for _, window in rates):
            # Two limits on one window would share its counter.
            raise ImproperlyConfigured(f"two rates with a {seconds} s window in {raw!r}")
        rates.append((count, seconds))
    return rates
