import io

import segno
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from staff import selectors, services


class Command(BaseCommand):
    help = (
        "Two-factor authentication of staff accounts: enrol (a key for an authenticator "
        "app and recovery codes, shown once), reset (remove them), recovery-codes (a new "
        "set), status (who is enrolled)."
    )

    def add_arguments(self, parser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        enrol = actions.add_parser(
            "enrol", help="Give a staff member an authenticator-app key and recovery codes."
        )
        enrol.add_argument("username")
        enrol.add_argument(
            "--replace",
            action="store_true",
            help="Replace the devices of an account already enrolled (a lost phone).",
        )
        enrol.add_argument(
            "--no-qr", action="store_true", help="Print no QR code, only the URI and secret."
        )
        reset = actions.add_parser("reset", help="Remove a staff member's key and recovery codes.")
        reset.add_argument("username")
        codes = actions.add_parser(
            "recovery-codes", help="Issue a new set of recovery codes; the old ones stop working."
        )
        codes.add_argument("username")
        actions.add_parser("status", help="Every staff account and its second factor.")

    def handle(self, *args, action: str, **options) -> None:
        match action:
            case "enrol":
                self._enrol(
                    self._staff(options["username"]),
                    replace=options["replace"],
                    qr=not options["no_qr"],
                )
            case "reset":
                user = self._staff(options["username"], staff_only=False)
                removed = services.staff_two_factor_reset(user=user)
                self.stdout.write(
                    f"Removed {removed} device(s) of {user.get_username()}: "
                    "their key and recovery codes no longer work."
                )
            case "recovery-codes":
                user = self._staff(options["username"])
                if selectors.totp_device_get(user=user) is None:
                    raise CommandError(f"{user.get_username()} is not enrolled: use enrol.")
                codes = services.staff_recovery_codes_issue(user=user)
                self._print_codes(codes)
            case "status":
                self._status()

    def _staff(self, username: str, *, staff_only: bool = True):
        User = get_user_model()
        user = User.objects.filter(**{User.USERNAME_FIELD: username}).first()
        if user is None:
            raise CommandError(f"No account named {username!r}.")
        if staff_only and not user.is_staff:
            raise CommandError(f"{username} is not staff: only staff sign in to the admin.")
        return user

    def _enrol(self, user, *, replace: bool, qr: bool) -> None:
        try:
            enrolment = services.staff_two_factor_enrol(user=user, replace=replace)
        except services.AlreadyEnrolled:
            raise CommandError(
                f"{user.get_username()} is already enrolled: `staff_2fa reset` first, "
                "or `enrol --replace` to give a new key (the old one stops working)."
            ) from None
        self.stdout.write(f"Two-factor authentication for {user.get_username()}.")
        self.stdout.write(
            "Scan this QR code with an authenticator app (Aegis, FreeOTP, Google "
            "Authenticator...), or type the secret below into it."
        )
        if qr:
            # segno writes the code as Unicode half blocks; written in one piece, as
            # the command's output adds a newline to each write.
            picture = io.StringIO()
            segno.make(enrolment.config_url, error="m").terminal(out=picture, compact=True)
            self.stdout.write(picture.getvalue(), ending="")
        self.stdout.write(f"URI:    {enrolment.config_url}")
        secret = " ".join(enrolment.secret[i : i + 4] for i in range(0, len(enrolment.secret), 4))
        self.stdout.write(f"Secret: {secret}")
        self._print_codes(enrolment.recovery_codes)

    def _print_codes(self, codes: list[str]) -> None:
        self.stdout.write(
            "Recovery codes, each good for one sign-in instead of the app's code. "
            "They are shown only now: give them to the staff member, to keep away "
            "from the phone."
        )
        for code in codes:
            self.stdout.write(f"  {code}")

    def _status(self) -> None:
        rows = selectors.staff_two_factor_status_list()
        required = selectors.two_factor_required()
        self.stdout.write(f"STAFF_REQUIRE_2FA is {'on' if required else 'off'}.")
        width = max([len(row.username) for row in rows] + [len("account")])
        self.stdout.write(f"{'account':<{width}}  app  recovery codes left")
        for row in rows:
            note = "" if row.is_active else "  (inactive)"
            if required and row.is_active and not row.has_totp:
                note += "  cannot sign in: not enrolled"
            self.stdout.write(
                f"{row.username:<{width}}  {'yes' if row.has_totp else 'no ':<3}  "
                f"{row.recovery_codes_left}{note}"
            )
