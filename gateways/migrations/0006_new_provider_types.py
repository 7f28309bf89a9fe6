from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("gateways", "0005_inbound_number_organization"),
    ]

    operations = [
        migrations.AlterField(
            model_name="gateway",
            name="type",
            field=models.CharField(
                choices=[
                    ("simulator", "Simulator"),
                    ("clickatell", "Clickatell"),
                    ("bulksms", "BulkSMS"),
                    ("http", "Generic HTTP"),
                    ("twilio", "Twilio"),
                    ("sns", "AWS SNS / End User Messaging"),
                    ("kannel", "Kannel (SMPP)"),
                    ("android", "SMS Gateway for Android"),
                    ("africastalking", "Africa's Talking"),
                ],
                max_length=20,
            ),
        ),
    ]
