"""System checks: test-only trust settings stay out of production."""

from django.conf import settings
from django.core.checks import Error, Tags, register


@register(Tags.security, deploy=True)
def no_test_trust_in_production(app_configs, **kwargs):
    errors = []
    if getattr(settings, "SMSPORTAL_SNS_TEST_CERTIFICATE", ""):
        errors.append(
            Error(
                "SMSPORTAL_SNS_TEST_CERTIFICATE is set: SNS callbacks would be trusted with a local certificate.",
                hint="Tests only. Unset it in production.",
                id="gateways.E002",
            )
        )
    if getattr(settings, "SMSPORTAL_ALLOW_PRIVATE_URLS", False):
        errors.append(
            Error(
                "SMSPORTAL_ALLOW_PRIVATE_URLS is on: gateway URLs may reach private and loopback addresses (SSRF).",
                hint="Development and tests only.",
                id="gateways.E003",
            )
        )
    return errors
