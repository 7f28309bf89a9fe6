# Admin registrations live beside their pipeline half; Django autodiscovers this module only.
from messaging import admin_gateway_test, admin_inbound, admin_outbound, admin_templates, admin_unattributed  # noqa: F401
