from django.db import migrations


def drop_unused_auditlog_table(apps, schema_editor):
    # AUDITLOG_LOGENTRY_MODEL swaps auditlog's own LogEntry for audit.AuditEntry, but auditlog's
    # migrations still create their table, with a foreign key to auth_user and no model behind it:
    # nothing writes to it, and its constraint stops PostgreSQL from truncating the users table.
    cascade = " CASCADE" if schema_editor.connection.vendor == "postgresql" else ""
    schema_editor.execute(f"DROP TABLE IF EXISTS {schema_editor.quote_name('auditlog_logentry')}{cascade}")


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0001_audit_entry"),
        ("auditlog", "0017_add_actor_email"),
    ]

    operations = [migrations.RunPython(drop_unused_auditlog_table, migrations.RunPython.noop)]
