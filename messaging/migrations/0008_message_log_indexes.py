"""Indexes for the portal's message log (docs/performance.md, "Message log").

The inbound (organization, received_at) index pages the log's received messages newest first; two
partial indexes hold only the rows in the states people filter for (failed, undelivered, unknown;
received, failed), so those filters read a few rows instead of walking the whole organization.
On PostgreSQL only, trigram GIN indexes let the log's text search (`icontains`, which Django
writes as `UPPER(column::text) LIKE UPPER(...)`) find a word among millions of messages without
reading them all; SQLite (the embedded mode, small tables) has no such index and needs none.
"""

from django.db import migrations, models

TRIGRAM_INDEXES = [
    ("outbound_body_trgm", "messaging_outboundmessage", "body"),
    ("inbound_text_trgm", "messaging_inboundmessage", "text"),
]


def trigram_indexes_create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, table, column in TRIGRAM_INDEXES:
        schema_editor.execute(
            f'CREATE INDEX IF NOT EXISTS "{name}" ON "{table}" USING gin ((UPPER("{column}"::text)) gin_trgm_ops)'
        )


def trigram_indexes_drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _, _ in TRIGRAM_INDEXES:
        schema_editor.execute(f'DROP INDEX IF EXISTS "{name}"')


class Migration(migrations.Migration):
    dependencies = [
        ("messaging", "0007_merge_resent_as_unattributed_replies"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="inboundmessage",
            index=models.Index(fields=["organization", "-received_at"], name="inbound_org_received"),
        ),
        migrations.AddIndex(
            model_name="inboundmessage",
            index=models.Index(
                condition=models.Q(("status__in", ["received", "processing", "failed"])),
                fields=["organization", "status", "-received_at"],
                name="inbound_org_unprocessed",
            ),
        ),
        migrations.AddIndex(
            model_name="outboundmessage",
            index=models.Index(
                condition=models.Q(("status__in", ["failed", "undelivered", "unknown"])),
                fields=["organization", "status", "-created_at"],
                name="outbound_org_trouble",
            ),
        ),
        migrations.RunPython(trigram_indexes_create, trigram_indexes_drop, elidable=False),
    ]
