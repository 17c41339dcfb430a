"""Reads about staff accounts: whether a session has passed the second factor, and
who is enrolled."""

from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, User
from django.db.models import Count, Exists, OuterRef, Q
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice


def two_factor_required() -> bool:
    return settings.STAFF_REQUIRE_2FA


def session_passes_two_factor(user: User | AnonymousUser) -> bool:
    """False only for a staff member whose session has not given the second factor
    while STAFF_REQUIRE_2FA is on.

    `user` is request.user as django_otp's OTPMiddleware leaves it, with
    `is_verified()`; without it (no middleware) the session is taken as unverified.
    """
    if not two_factor_required() or not user.is_staff:
        return True
    is_verified = getattr(user, "is_verified", None)
    return bool(is_verified and is_verified())


def totp_device_get(*, user: AbstractBaseUser) -> TOTPDevice | None:
    return TOTPDevice.objects.devices_for_user(user, confirmed=True).first()


def recovery_device_get(*, user: AbstractBaseUser) -> StaticDevice | None:
    return StaticDevice.objects.devices_for_user(user, confirmed=True).first()


@dataclass(frozen=True)
class TwoFactorStatus:
    username: str
    is_active: bool
    has_totp: bool
    recovery_codes_left: int


def staff_two_factor_status_list() -> list[TwoFactorStatus]:
    """Every staff account, with its authenticator app and recovery codes left."""
    User = get_user_model()
    users = (
        User.objects.filter(is_staff=True)
        .annotate(
            has_totp=Exists(TOTPDevice.objects.filter(user=OuterRef("pk"), confirmed=True)),
            recovery_codes_left=Count(
                "staticdevice__token_set",
                filter=Q(staticdevice__confirmed=True),
            ),
        )
        .order_by(User.USERNAME_FIELD)
    )
    return [
        TwoFactorStatus(
            username=user.get_username(),
            is_active=user.is_active,
            has_totp=user.has_totp,
            recovery_codes_left=user.recovery_codes_left,
        )
        for user in users
    ]
