from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ModerationConfig(AppConfig):
    name = "moderation"
    verbose_name = _("Moderation")

    def ready(self) -> None:
        # Imported here: the hooks call services, which need the models loaded.
        from moderation import hooks

        hooks.register()
