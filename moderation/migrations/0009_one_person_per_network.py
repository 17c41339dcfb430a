"""One person per network: a burst from one network holds its own extra reports, not\nthe case (ImageCase.auto_block_held_at is the rate rule's hold only); a mute also covers\nthe addresses its reporter reported from (MutedAddress)."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("articles", "0004_image_phash_mirror"),
        ("moderation", "0008_reader_identity_reputation_brigades"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="MutedAddress",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("ip_hash", models.CharField(max_length=64, verbose_name="IP hash")),
                ("last_seen_at", models.DateTimeField(verbose_name="last report from it")),
            ],
            options={
                "verbose_name": "muted address",
                "verbose_name_plural": "muted addresses",
            },
        ),
        migrations.AddField(
            model_name="imagecase",
            name="auto_block_held_at",
            field=models.DateTimeField(
                blank=True, null=True, verbose_name="automatic block held since"
            ),
        ),
        migrations.AddIndex(
            model_name="report",
            index=models.Index(
                condition=models.Q(("outcome", "open")),
                fields=["image", "network_hash"],
                name="moderation_report_open_network",
            ),
        ),
        migrations.AddField(
            model_name="mutedaddress",
            name="mute",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="addresses",
                to="moderation.reportermute",
                verbose_name="mute",
            ),
        ),
        migrations.AddIndex(
            model_name="mutedaddress",
            index=models.Index(fields=["ip_hash"], name="moderation_mutedaddress_ip"),
        ),
        migrations.AddConstraint(
            model_name="mutedaddress",
            constraint=models.UniqueConstraint(
                fields=("mute", "ip_hash"), name="moderation_mutedaddress_once"
            ),
        ),
        migrations.AddConstraint(
            model_name="mutedaddress",
            constraint=models.CheckConstraint(
                condition=models.Q(("ip_hash", ""), _negated=True),
                name="moderation_mutedaddress_ip_hash_set",
            ),
        ),
        # Before this migration, any hold of grouped reports held the automatic block:
        # the cases held then stay held for their moderator, as they were promised.
        migrations.RunSQL(
            "UPDATE moderation_imagecase SET auto_block_held_at = brigade_held_at "
            "WHERE brigade_held_at IS NOT NULL",
            reverse_sql=migrations.RunSQL.noop,
        ),
    ]
