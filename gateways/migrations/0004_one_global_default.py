from django.db import migrations, models


def keep_the_global_default_in_use(apps, schema_editor):
    """Sends used the oldest active global default (gateway_default_for); it stays the default and
    the others stop being defaults, so the constraint can be added and nothing changes for senders."""
    gateway = apps.get_model("gateways", "Gateway")
    defaults = gateway.objects.filter(organization__isnull=True, is_default=True).order_by("-is_active", "created_at")
    kept = defaults.values_list("pk", flat=True).first()
    if kept is not None:
        defaults.exclude(pk=kept).update(is_default=False)


class Migration(migrations.Migration):
    dependencies = [
        ("entities", "0001_initial"),
        ("gateways", "0003_parked_status"),
    ]

    operations = [
        migrations.RunPython(keep_the_global_default_in_use, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="gateway",
            constraint=models.UniqueConstraint(
                condition=models.Q(("is_default", True), ("organization__isnull", True)),
                fields=("is_default",),
                name="uniq_default_global_gateway",
            ),
        ),
    ]
