import getpass
import secrets
import sys

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from moderation.models import MODERATORS_GROUP

# Created, with its permissions, by migration moderation 0004_moderators_group.


class Command(BaseCommand):
    help = (
        "Create a moderator, or make an existing user one: staff, not superuser, "
        f"in the {MODERATORS_GROUP} group."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("username")
        parser.add_argument("--email", help="Set the moderator's email address.")
        parser.add_argument(
            "--password",
            help="Set this password (it stays in your shell history: prefer the prompt).",
        )
        parser.add_argument(
            "--no-input",
            "--noinput",
            action="store_false",
            dest="interactive",
            help="Ask nothing: a new moderator gets a random password, printed once.",
        )

    def handle(self, *args, username: str, email: str | None, password: str | None, **options):
        try:
            group = Group.objects.get(name=MODERATORS_GROUP)
        except Group.DoesNotExist:
            raise CommandError(
                f"There is no {MODERATORS_GROUP} group: run `python manage.py migrate` first."
            ) from None

        User = get_user_model()
        existing = User.objects.filter(**{User.USERNAME_FIELD: username}).first()
        created = existing is None
        user = User(**{User.USERNAME_FIELD: username}) if existing is None else existing

        generated = None
        if password is not None:
            self._validate(password, user)
        elif created and options["interactive"] and sys.stdin.isatty():
            password = self._prompt_password(user)
        elif created:
            password = generated = secrets.token_urlsafe(18)
        # An existing user keeps their password unless --password says otherwise.

        was_superuser = user.is_superuser
        with transaction.atomic():
            if email is not None:
                user.email = email
            if password is not None:
                user.set_password(password)
            # Moderators sign in to the admin, and can do there only what the group allows.
            user.is_staff = True
            user.is_superuser = False
            user.save()
            user.groups.add(group)

        verb = "Created" if created else "Updated"
        self.stdout.write(self.style.SUCCESS(f"{verb} moderator {username!r}."))
        if was_superuser:
            self.stdout.write(self.style.WARNING(f"{username!r} is no longer a superuser."))
        if not user.is_active:
            self.stdout.write(
                self.style.WARNING(f"{username!r} is inactive and cannot sign in until activated.")
            )
        if generated:
            self.stdout.write(f"Password: {generated}")
        elif not created and password is None:
            self.stdout.write("Password unchanged.")

    def _prompt_password(self, user) -> str:
        while True:
            password = getpass.getpass("Password: ")
            if password != getpass.getpass("Password (again): "):
                self.stderr.write("The passwords do not match.")
                continue
            try:
                validate_password(password, user)
            except ValidationError as error:
                self.stderr.write("\n".join(error.messages))
                continue
            return password

    def _validate(self, password: str, user) -> None:
        try:
            validate_password(password, user)
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None
