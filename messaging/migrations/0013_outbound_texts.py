"""Each distinct sent text stored once (OutboundText), and the log's text search moved onto it.

The outbox's own trigram index (0008) was written for every recipient of a send and again on every
status change of every copy (a status change is not a HOT update: status is indexed): +40 % CPU per
recipient on a 10,000-recipient accept (docs/performance.md, "Searching sent texts"). Existing rows
get their texts here; the trigram index moves to the texts table, on PostgreSQL only as before.
"""

import hashlib

import django.db.models.deletion
from django.db import migrations, models


def texts_backfill(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            """
            INSERT INTO messaging_outboundtext (organization_id, digest, body)
            SELECT DISTINCT organization_id, encode(sha256(convert_to(body, 'UTF8')), 'hex'), body
            FROM messaging_outboundmessage
            ON CONFLICT DO NOTHING
            """
        )
        schema_editor.execute(
            """
            UPDATE messaging_outboundmessage m SET text_id = t.id FROM messaging_outboundtext t
            WHERE m.text_id IS NULL AND t.organization_id = m.organization_id
              AND t.digest = encode(sha256(convert_to(m.body, 'UTF8')), 'hex')
            """
        )
        schema_editor.execute('DROP INDEX IF EXISTS "outbound_body_trgm"')
        schema_editor.execute(
            'CREATE INDEX IF NOT EXISTS "outbound_text_body_trgm" ON "messaging_outboundtext" '
            'USING gin ((UPPER("body"::text)) gin_trgm_ops)'
        )
        return
    # The embedded database: small tables, no trigram index.
    message, text = apps.get_model("messaging", "OutboundMessage"), apps.get_model("messaging", "OutboundText")
    ids = {}
    for pk, organization_id, body in (
        message.objects.filter(text__isnull=True).values_list("pk", "organization_id", "body").iterator()
    ):
        key = (organization_id, hashlib.sha256(body.encode("utf-8")).hexdigest())
        if key not in ids:
            ids[key] = text.objects.get_or_create(organization_id=key[0], digest=key[1], defaults={"body": body})[0].pk
        message.objects.filter(pk=pk).update(text_id=ids[key])


def texts_trigram_back(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute('DROP INDEX IF EXISTS "outbound_text_body_trgm"')
    schema_editor.execute(
        'CREATE INDEX IF NOT EXISTS "outbound_body_trgm" ON "messaging_outboundmessage" '
        'USING gin ((UPPER("body"::text)) gin_trgm_ops)'
    )


class Migration(migrations.Migration):
    dependencies = [
        ("entities", "0005_organization_time_zone_validated"),
        ("gateways", "0007_cht_gateway_routes_sender_rate"),
        ("messaging", "0012_message_template_consent_kinds"),
    ]

    operations = [
        migrations.AlterField(
            model_name="outboundmessage",
            name="batch_id",
            field=models.UUIDField(
                blank=True, help_text="The messages queued by one send, to its recipients.", null=True
            ),
        ),
        migrations.CreateModel(
            name="OutboundText",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("digest", models.CharField(help_text="SHA-256 of the body, hex", max_length=64)),
                ("body", models.TextField()),
                (
                    "organization",
                    models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="entities.organization",
                    ),
                ),
            ],
        ),
        migrations.AddField(
            model_name="outboundmessage",
            name="text",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="messaging.outboundtext",
            ),
        ),
        migrations.AddIndex(
            model_name="outboundmessage",
            index=models.Index(fields=["text", "-created_at"], name="outbound_text_created"),
        ),
        migrations.AddConstraint(
            model_name="outboundtext",
            constraint=models.UniqueConstraint(fields=("organization", "digest"), name="uniq_outbound_text"),
        ),
        migrations.RunPython(texts_backfill, texts_trigram_back, elidable=False),
    ]
