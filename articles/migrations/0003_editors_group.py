"""The Editors group: the people who add images to articles, in admin or through
`POST /api/articles/{slug}/images/`.

Written out here rather than imported, so that this migration keeps meaning what
it meant when it was written. Editors are staff (for the admin) but not superusers.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GROUP_NAME = "Editors"

# (app_label, codename): why editors need each.
PERMISSIONS = [
    # Uploading an image (admin inline or API) is adding one.
    ("articles", "add_image"),
    # Caption, credit and position of an image; never its visibility (read-only in admin).
    ("articles", "change_image"),
    ("articles", "view_image"),
    # The image inline lives on the article's change form.
    ("articles", "view_article"),
    ("articles", "change_article"),
    ("articles", "view_source"),
]


def create_editors_group(apps, schema_editor):
    # Permissions are normally created by post_migrate, after every migration
    # has run; on a fresh database they don't exist yet at this point.
    app_config = apps.get_app_config("articles")
    app_config.models_module = True
    try:
        create_permissions(app_config, verbosity=0, using=schema_editor.connection.alias, apps=apps)
    finally:
        app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    db = schema_editor.connection.alias
    permissions = [
        Permission.objects.using(db).get(content_type__app_label=app_label, codename=codename)
        for app_label, codename in PERMISSIONS
    ]
    group, _ = Group.objects.using(db).get_or_create(name=GROUP_NAME)
    # Exactly this set, also where a group of that name existed before.
    group.permissions.set(permissions)


def delete_editors_group(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Group.objects.using(schema_editor.connection.alias).filter(name=GROUP_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("articles", "0002_image_processing"),
    ]

    operations = [
        migrations.RunPython(create_editors_group, delete_editors_group),
    ]
