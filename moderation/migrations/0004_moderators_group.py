"""The Moderators group and exactly the permissions moderators need.

Moderators are staff (they sign in to the admin) but never superusers: what
they can do is this list, nothing more. Written out here rather than imported,
so that this migration keeps meaning what it meant when it was written.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GROUP_NAME = "Moderators"

# (app_label, codename): why moderators need each.
PERMISSIONS = [
    # The queue is the ImageCase changelist; the case page is its (read-only) view.
    ("moderation", "view_imagecase"),
    # Confirm, restore, dismiss, protect, unprotect, note: every state change goes
    # through services.case_decide, never through a change form.
    ("moderation", "decide_imagecase"),
    # The reports behind a case, and each reporter's record.
    ("moderation", "view_report"),
    # The audit log: read only, for everyone.
    ("moderation", "view_moderationaction"),
    # Thresholds and windows are the moderators' to tune without a deploy, globally
    # and per source (saved through services.policy_save, which logs the change).
    # No delete: a policy is changed, never removed without a trace.
    ("moderation", "view_policy"),
    ("moderation", "add_policy"),
    ("moderation", "change_policy"),
    # Context for a decision: the image, its article and the publication, read only.
    # Visibility changes only through decisions, so no change_image.
    ("articles", "view_image"),
    ("articles", "view_article"),
    ("articles", "view_source"),
]


def _create_permissions(apps, schema_editor):
    # Permissions are normally created by post_migrate, after every migration
    # has run; on a fresh database they don't exist yet at this point.
    for app_label in ("moderation", "articles"):
        app_config = apps.get_app_config(app_label)
        # The migration state's app configs have no models module, which
        # create_permissions takes to mean "no models": say there are.
        app_config.models_module = True
        try:
            create_permissions(
                app_config, verbosity=0, using=schema_editor.connection.alias, apps=apps
            )
        finally:
            app_config.models_module = None


def create_moderators_group(apps, schema_editor):
    _create_permissions(apps, schema_editor)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    db = schema_editor.connection.alias

    permissions = []
    for app_label, codename in PERMISSIONS:
        permissions.append(
            Permission.objects.using(db).get(content_type__app_label=app_label, codename=codename)
        )
    group, _ = Group.objects.using(db).get_or_create(name=GROUP_NAME)
    # Exactly this set, also where a group of that name existed before.
    group.permissions.set(permissions)


def delete_moderators_group(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Group.objects.using(schema_editor.connection.alias).filter(name=GROUP_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("articles", "0001_initial"),
        ("moderation", "0003_policy_window_and_decisions"),
    ]

    operations = [
        migrations.RunPython(create_moderators_group, delete_moderators_group),
    ]
