"""`python manage.py seed_demo`: a ready-to-try "Demo Org" (idempotent; `make run` calls it each start).

Creates, once: the organization, three patients, a caregiver linked to the first patient, a
superuser login (linked to the organization for the portal), a login of the organization's admin
role (sees and changes Demo Org only), the simulator gateway as default, and an API key.
The passwords and the API key are derived from SECRET_KEY, so every run can print them
without storing them in clear; with a real SECRET_KEY they are as secret as it is.
"""

import hashlib
import hmac

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from adherence.demo import demo_seed
from entities.models import ApiKey, Caregiver, OrganizationUser, Patient
from entities.roles import organization_login_create
from entities.services import organization_get_or_create
from gateways.models import Gateway

ORG_SLUG = "demo-org"
ADMIN_USERNAME = "admin"
ORG_ADMIN_USERNAME = "demo-org-admin"
ORG_ADMIN_EMAIL = "clinic.admin@example.org"
PATIENTS = [
    # 202-555-01xx: fictional numbers that parse as valid US numbers.
    {"first_name": "Patient", "last_name": "Zero", "phone": "+12025550101", "national_id": "76986"},
    {"first_name": "Maria", "last_name": "Lopez", "phone": "+12025550102", "national_id": "76987"},
    {"first_name": "Sam", "last_name": "Okafor", "phone": "+12025550103", "national_id": "76988"},
]
CAREGIVER = {"first_name": "Carla", "last_name": "Zero", "phone": "+12025550111", "email": "carla@example.org"}
STAFF = {"first_name": "Dana", "last_name": "Admin", "phone": "+12025550121", "email": "admin@example.org"}


def _derived(label: str, length: int) -> str:
    digest = hmac.new(settings.SECRET_KEY.encode(), f"seed_demo:{label}".encode(), hashlib.sha256).hexdigest()
    return digest[:length]


def _demo_dose_due(organization):
    """The demo dose still open and due soonest (adherence.demo.demo_today_seed made one)."""
    from django.utils import timezone

    from adherence.models import DoseSlot

    return (
        DoseSlot.objects.filter(
            organization=organization, status__in=DoseSlot.OPEN, window_closes_at__gt=timezone.now()
        )
        .select_related("patient", "schedule")
        .order_by("scheduled_at")
        .first()
    )


class Command(BaseCommand):
    help = "Create the Demo Org with people, the simulator gateway, an admin login and an API key (idempotent)."

    @transaction.atomic
    def handle(self, *args, **options):
        organization = organization_get_or_create(slug=ORG_SLUG, name="Demo Org")
        if not organization.default_region:
            organization.default_region = "US"
            organization.save(update_fields=["default_region"])

        patients = []
        for data in PATIENTS:
            patient, _ = Patient.objects.get_or_create(
                organization=organization,
                national_id=data["national_id"],
                defaults={
                    **data,
                    "email": f"{data['first_name'].lower()}@example.org",
                    "gender": "UNDISCLOSED",
                    "address_country_code": "US",
                },
            )
            patients.append(patient)
        caregiver, _ = Caregiver.objects.get_or_create(
            organization=organization, email=CAREGIVER["email"], defaults=CAREGIVER
        )
        caregiver.patients.add(patients[0])

        User = get_user_model()  # noqa: N806
        password = _derived("admin-password", 16)
        user = User.objects.filter(username=ADMIN_USERNAME).first()
        if user is None:
            user = User.objects.create_superuser(ADMIN_USERNAME, STAFF["email"], password)
        password_note = password if user.check_password(password) else "(changed since it was created)"
        OrganizationUser.objects.get_or_create(
            organization=organization, user=user, defaults={**STAFF, "can_login": True}
        )
        org_admin_password = _derived("org-admin-password", 16)
        org_admin, _ = organization_login_create(
            organization=organization,
            email=ORG_ADMIN_EMAIL,
            username=ORG_ADMIN_USERNAME,
            password=org_admin_password,
        )
        if not org_admin.check_password(org_admin_password):
            org_admin_password = "(changed since it was created)"

        # The simulator is the default unless the organization already chose another default.
        if not Gateway.objects.filter(organization=organization, is_default=True).exists():
            simulator = Gateway.objects.filter(organization=organization, type="simulator").first()
            if simulator is None:
                Gateway.objects.create(organization=organization, name="Simulator", type="simulator", is_default=True)
            else:
                Gateway.objects.filter(pk=simulator.pk).update(is_default=True)

        demo_seed(organization=organization)  # medication schedules + the built-in medication plugin
        due = _demo_dose_due(organization)

        prefix = _derived("api-key-prefix", ApiKey.PREFIX_LENGTH)
        raw_key = f"sp_{prefix}_{_derived('api-key-secret', 43)}"
        ApiKey.objects.get_or_create(
            prefix=prefix, defaults={"organization": organization, "name": "demo", "key_hash": ApiKey.hash(raw_key)}
        )

        if not settings.DEBUG:
            self.stderr.write("warning: DEBUG is off; demo credentials derive from SECRET_KEY — do not seed production")
        base = settings.SMSPORTAL_PUBLIC_BASE_URL
        self.stdout.write(f"Demo Org ready: {len(patients)} patients, 1 caregiver, simulator gateway (default).")
        self.stdout.write(f"Staff portal: {base}/portal/ (same login); phone simulator: {base}/portal/simulator/")
        self.stdout.write(f"Admin login: {base}/admin/  user: {ADMIN_USERNAME}  password: {password_note}")
        self.stdout.write(
            f"Demo Org admin login (sees Demo Org only): {base}/admin/  user: {ORG_ADMIN_USERNAME}  "
            f"password: {org_admin_password}"
        )
        if due is not None:
            self.stdout.write(
                f"Demo dose: {due.patient.full_name}'s {due.schedule.medication} is due at "
                f"{due.local_time:%H:%M} ({due.schedule.timezone}): open {base}/portal/, press "
                "“Send reminder now”, then reply 1 in the phone simulator."
            )
        self.stdout.write(f"API key (Demo Org): {raw_key}")
