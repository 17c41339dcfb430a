from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.signals import user_login_failed
from django.core import validators
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from staff import selectors, services

# Longer than any code a person may type with spaces and dashes.
CODE_MAX_LENGTH = 32


class StaffAuthenticationForm(AdminAuthenticationForm):
    """The admin's login form; with STAFF_REQUIRE_2FA, also a code from the
    authenticator app or a recovery code.

    One form and one answer for every mistake: a wrong password and a wrong code
    get the same message, so the page never tells whether the password was right.
    A wrong code counts as a failed login for django-axes like a wrong password.
    """

    otp_token = forms.CharField(
        label=_("Verification code"),
        help_text=_("The 6 digits shown by your authenticator app, or a recovery code."),
        max_length=CODE_MAX_LENGTH,
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "autocapitalize": "none",
                "spellcheck": "false",
            }
        ),
    )

    error_messages = {
        **AdminAuthenticationForm.error_messages,
        "invalid_login_with_code": _(
            "Please enter the correct %(username)s, password and verification code for a "
            "staff account. Note that both username and password may be case-sensitive."
        ),
        "no_device": _(
            "Staff accounts need two-factor authentication, and this account has no "
            "authenticator app yet. Ask an operator to enrol you (manage.py staff_2fa "
            "enrol)."
        ),
    }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # AuthenticationForm sets the username's max_length without its validator: a
        # longer one would reach django-axes, whose column is 255 characters (a 500).
        username = self.fields["username"]
        username.validators.append(validators.MaxLengthValidator(username.max_length))
        if selectors.two_factor_required():
            # The same words for a wrong password, a wrong code, or an account that
            # is not staff.
            self.error_messages = {
                **self.error_messages,
                "invalid_login": self.error_messages["invalid_login_with_code"],
            }
        else:
            del self.fields["otp_token"]

    def clean(self):
        if "otp_token" in self.fields and not self.cleaned_data.get("otp_token"):
            # "This field is required" is already said; checking the password now
            # would tell, by a different answer, whether it was right.
            return self.cleaned_data
        super().clean()
        if "otp_token" in self.fields and self.user_cache is not None:
            self.user_cache.otp_device = self._verified_device(
                self.user_cache, self.cleaned_data["otp_token"]
            )
        return self.cleaned_data

    def _verified_device(self, user, code: str):
        if selectors.totp_device_get(user=user) is None and (
            selectors.recovery_device_get(user=user) is None
        ):
            raise ValidationError(self.error_messages["no_device"], code="no_device")
        device = services.staff_two_factor_verify(user=user, code=code)
        if device is None:
            # Counted by django-axes (per account and per address) like a wrong
            # password: guessing codes locks out as fast as guessing passwords.
            user_login_failed.send(
                sender=__name__,
                credentials={"username": user.get_username()},
                request=self.request,
            )
            raise self.get_invalid_login_error()
        return device
