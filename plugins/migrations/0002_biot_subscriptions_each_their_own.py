import hashlib
import re

from django.db import migrations

LEGACY_NAME = re.compile(r"biot-[0-9a-f]{12}")
COPIED = ("url", "handler", "enabled", "timeout_seconds", "max_attempts", "webhook_secret", "source")


def split_merged_subscriptions(apps, schema_editor):
    """Earlier, an endpoint's BioT subscriptions were one registration serving every entity type
    with every action it had asked for. Each (entity type, action) becomes its own registration:
    the same calls as before (the whole mix), but each can now be unsubscribed alone. The
    existing row keeps the first pair, so its invocations stay with it."""
    registration = apps.get_model("plugins", "PluginRegistration")
    for merged in registration.objects.filter(source="biot"):
        if not LEGACY_NAME.fullmatch(merged.name):
            continue
        digest = hashlib.sha256(merged.url.encode()).hexdigest()[:12]
        pairs = [(t, a) for t in sorted(merged.entity_types) for a in sorted(merged.actions)]
        for index, (entity_type, action) in enumerate(pairs):
            name = f"biot-{digest}-{entity_type}-{action}"
            if index == 0:
                merged.name, merged.entity_types, merged.actions = name, [entity_type], [action]
                merged.save(update_fields=["name", "entity_types", "actions"])
            else:
                registration.objects.create(
                    organization_id=merged.organization_id,
                    name=name,
                    entity_types=[entity_type],
                    actions=[action],
                    **{field: getattr(merged, field) for field in COPIED},
                )


class Migration(migrations.Migration):
    dependencies = [("plugins", "0001_initial")]

    operations = [migrations.RunPython(split_merged_subscriptions, migrations.RunPython.noop)]
