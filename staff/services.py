"""Writes about staff accounts: enrolling and resetting the second factor,
checking a code, and forgetting or purging django-axes' login records."""

import logging
from base64 import b32encode
from dataclasses import dataclass
from datetime import timedelta

from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone
from django_otp import devices_for_user, verify_token
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from staff import selectors

logger = logging.getLogger(__name__)

RECOVERY_CODE_COUNT = 10
# Codes from the app: what every authenticator app shows.
TOTP_DIGITS = 6
TOTP_DEVICE_NAME = "Authenticator app"
RECOVERY_DEVICE_NAME = "Recovery codes"


class AlreadyEnrolled(Exception):
    pass


@dataclass(frozen=True)
class Enrolment:
    """What the staff member needs once, and nobody can read again afterwards."""

    config_url: str  # otpauth://totp/..., what the QR code holds
    secret: str  # the key in base32, for typing into an app by hand
    recovery_codes: list[str]


def format_recovery_code(token: str) -> str:
    """A recovery code as shown, "abcd-2efg": easier to read out and type; either is accepted."""
    return f"{token[:4]}-{token[4:]}"


def normalise_code(code: str) -> str:
    """What a person types, as the devices store it: no spaces or dashes, lower case."""
    return "".join(code.split()).replace("-", "").lower()


@transaction.atomic
def staff_two_factor_enrol(*, user: AbstractBaseUser, replace: bool = False) -> Enrolment:
    """Give `user` a new authenticator-app key and RECOVERY_CODE_COUNT recovery codes.

    An enrolled user is refused unless `replace`, which removes the old devices first
    (a lost phone: the old key stops working at once).
    """
    if not replace and selectors.totp_device_get(user=user) is not None:
        raise AlreadyEnrolled(user.get_username())
    staff_two_factor_reset(user=user)
    device = TOTPDevice.objects.create(
        user=user, name=TOTP_DEVICE_NAME, digits=TOTP_DIGITS, confirmed=True
    )
    codes = _recovery_codes_create(user=user)
    logger.warning(
        "Two-factor authentication enrolled for staff account %s",
        user.get_username(),
        extra={"event": "staff_2fa_enrolled", "username": user.get_username()},
    )
    return Enrolment(
        config_url=device.config_url,
        secret=b32encode(device.bin_key).decode(),
        recovery_codes=[format_recovery_code(code) for code in codes],
    )


@transaction.atomic
def staff_recovery_codes_issue(*, user: AbstractBaseUser) -> list[str]:
    """A fresh set of recovery codes for `user`; the old ones stop working."""
    StaticDevice.objects.filter(user=user).delete()
    codes = _recovery_codes_create(user=user)
    logger.warning(
        "New recovery codes issued for staff account %s",
        user.get_username(),
        extra={"event": "staff_recovery_codes_issued", "username": user.get_username()},
    )
    return [format_recovery_code(code) for code in codes]


def _recovery_codes_create(*, user: AbstractBaseUser) -> list[str]:
    device = StaticDevice.objects.create(user=user, name=RECOVERY_DEVICE_NAME, confirmed=True)
    codes: set[str] = set()
    while len(codes) < RECOVERY_CODE_COUNT:
        codes.add(StaticToken.random_token())
    StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    return sorted(codes)


@transaction.atomic
def staff_two_factor_reset(*, user: AbstractBaseUser) -> int:
    """Remove every device of `user` (app key and recovery codes); how many.

    A session verified with one of them stops being verified on its next request
    (OTPMiddleware finds the device gone).
    """
    removed = 0
    for device in list(devices_for_user(user, confirmed=None)):
        device.delete()
        removed += 1
    if removed:
        logger.warning(
            "Two-factor authentication reset for staff account %s",
            user.get_username(),
            extra={"event": "staff_2fa_reset", "username": user.get_username()},
        )
    return removed


def staff_two_factor_verify(*, user: AbstractBaseUser, code: str) -> Device | None:
    """The device that accepts `code` for `user`, or None.

    Six digits are a code from the app; anything else is taken for a recovery code,
    which is used up. The code is checked against that one device only, so a typo
    in one never throttles the other (django-otp slows down a device after each
    failure). A TOTP code is refused a second time within its 30 seconds.
    """
    code = normalise_code(code)
    if not code:
        return None
    if code.isdigit() and len(code) == TOTP_DIGITS:
        device = selectors.totp_device_get(user=user)
    else:
        device = selectors.recovery_device_get(user=user)
    if device is None:
        return None
    # verify_token locks the device row: one recovery code cannot be spent twice by
    # two logins racing.
    return verify_token(user, device.persistent_id, code)


def staff_login_failures_forget(*, username: str, address: str) -> int:
    """After a successful login: forget the account's failures from that address
    (the moderator's own typos). Failures against the account from elsewhere, and
    the address's failures against other accounts, still count."""
    deleted, _ = AccessAttempt.objects.filter(username=username, ip_address=address).delete()
    return deleted


def staff_login_records_purge(*, older_than_days: int) -> dict[str, int]:
    """Erase django-axes' records (failed and successful logins, counters) older
    than `older_than_days`; how many of each."""
    cutoff = timezone.now() - timedelta(days=older_than_days)
    counts = {}
    for model in (AccessAttempt, AccessFailureLog, AccessLog):
        counts[model._meta.model_name], _ = model.objects.filter(attempt_time__lt=cutoff).delete()
    return counts
