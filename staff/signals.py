"""Receivers for django-axes' and Django's login signals: one log line per
lockout, and a successful login forgetting the account's own failures."""

import logging

from axes.signals import user_locked_out
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

from staff import services
from staff.throttling import login_address

logger = logging.getLogger("staff.logins")


@receiver(user_locked_out, dispatch_uid="staff.log_lockout")
def log_lockout(sender, request, username: str | None = None, **kwargs) -> None:
    # Named only when it is an account: what was typed as a username may be
    # someone's password. No address: the records in the admin hold its pseudonym.
    User = get_user_model()
    known = bool(username) and User.objects.filter(**{User.USERNAME_FIELD: username}).exists()
    account = username if known else None
    logger.warning(
        "Sign-in locked out after repeated failures (account: %s)",
        account or "not an account",
        extra={
            "event": "staff_login_locked_out",
            "username": account,
            "failures": getattr(request, "axes_failures_since_start", None),
        },
    )


@receiver(user_logged_in, dispatch_uid="staff.forget_login_failures")
def forget_login_failures(sender, request, user, **kwargs) -> None:
    if request is None:
        return
    services.staff_login_failures_forget(
        username=user.get_username(), address=login_address(request)
    )
