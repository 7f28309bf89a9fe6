"""Who people are: organizations and the three BioT user types that can send and receive SMS."""

import hashlib
import secrets
import uuid
from functools import lru_cache

from django.conf import settings
from django.db import models
from phonenumber_field.modelfields import PhoneNumberField

from smsportal.locales import validate_locale

# Revocation "by any reasonable means" (FCC, April 2025): always honoured, whatever an organization
# configures; its own opt-out keywords (ARRET, BAJA) are added to these (messaging/services/keywords.py).
DEFAULT_OPT_OUT_KEYWORDS = [
    "STOP",
    "STOPALL",
    "STOP ALL",
    "UNSUBSCRIBE",
    "CANCEL",
    "END",
    "QUIT",
    "REVOKE",
    "OPT OUT",
    "OPTOUT",
]
DEFAULT_OPT_IN_KEYWORDS = ["START", "UNSTOP", "YES"]
DEFAULT_HELP_KEYWORDS = ["HELP", "INFO"]


def keyword_normalize(word) -> str:
    """A keyword as SMS commands compare it: upper-case, single spaces ("stop  all" → "STOP ALL")."""
    return " ".join(str(word).upper().split())


def validate_time_zone(value: str) -> None:
    """An IANA zone name this system knows: an unknown one would silently make quiet hours and
    schedules run in UTC."""
    from django.core.exceptions import ValidationError

    if value not in _known_zones():
        raise ValidationError(f"unknown time zone {value!r}; use an IANA name such as America/New_York")


@lru_cache(maxsize=1)
def _known_zones() -> frozenset:
    from zoneinfo import available_timezones

    return frozenset(available_timezones()) | {"UTC"}


class Organization(models.Model):
    """A tenant: a clinic or health organization. Nothing crosses from one to another."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=80, unique=True)
    template_id = models.UUIDField(default=uuid.uuid4, help_text="BioT organization template id.")
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children")
    timezone = models.CharField(
        max_length=64, default="UTC", validators=[validate_time_zone], help_text="IANA time zone, e.g. America/New_York"
    )
    default_region = models.CharField(
        max_length=2, blank=True, default="", help_text="ISO country used to read national-format numbers."
    )
    default_locale = models.CharField(
        max_length=16,
        blank=True,
        default="en",
        validators=[validate_locale],
        help_text="Language of messages to people without a locale, or whose language has no template.",
    )
    # Commands and compliance texts (CTIA): configurable per organization.
    opt_out_keywords = models.JSONField(
        default=list,
        blank=True,
        help_text='More opt-out words, comma-separated, e.g. "BAJA, ARRET". Empty: the standard ones only '
        "(STOP, UNSUBSCRIBE, CANCEL, END, QUIT …), which always apply.",
    )
    opt_in_keywords = models.JSONField(
        default=list, blank=True, help_text='Opt-in words, comma-separated, e.g. "ALTA". Empty: START, UNSTOP and YES.'
    )
    help_keywords = models.JSONField(
        default=list, blank=True, help_text='Help words, comma-separated, e.g. "AYUDA". Empty: HELP and INFO.'
    )
    opt_out_confirmation = models.CharField(
        max_length=320,
        blank=True,
        default="You have been unsubscribed and will receive no more messages. Reply START to resubscribe.",
    )
    opt_in_confirmation = models.CharField(
        max_length=320, blank=True, default="You are subscribed again. Reply STOP to unsubscribe."
    )
    help_text = models.CharField(
        max_length=320,
        blank=True,
        default="Medication reminders from your care team. Msg&data rates may apply. Reply STOP to unsubscribe.",
    )
    help_contact = models.CharField(
        max_length=160,
        blank=True,
        default="",
        help_text="How people reach the organization (a phone number or address), added to HELP answers.",
    )
    consent_confirmation = models.CharField(
        max_length=320,
        blank=True,
        default="{organization}: you will receive {programs}. Reply STOP to end, HELP for help.",
        help_text="The answer to an opt-in keyword that recorded consent. {organization}, {programs}.",
    )
    program_opt_out_confirmation = models.CharField(
        max_length=320,
        blank=True,
        default="{organization}: you will receive no more {programs}. Reply STOP to end all messages.",
        help_text="The answer to STOP followed by a program's keyword. {organization}, {programs}.",
    )
    unknown_number_reply = models.CharField(
        max_length=320,
        blank=True,
        default="",
        help_text="The answer to an opt-in keyword from a number that is none of the organization's "
        "people (blank: no answer). The message is stored; no person is created.",
    )
    exempt_mode = models.BooleanField(
        "healthcare exemption guard",
        default=False,
        help_text="Without recorded consent, at most the limits below per person (FCC healthcare "
        "exemption); further messages are refused with the reason.",
    )
    exempt_daily_limit = models.PositiveSmallIntegerField(default=1, help_text="Messages per 24 hours.")
    exempt_weekly_limit = models.PositiveSmallIntegerField(default=3, help_text="Messages per 7 days.")
    quiet_hours_start = models.TimeField(null=True, blank=True)
    quiet_hours_end = models.TimeField(null=True, blank=True)
    require_two_factor = models.BooleanField(
        "require two-factor for staff",
        default=False,
        help_text="Staff of this organization sign in to the portal and the admin with an authenticator "
        "app code as well as their password (API keys are unaffected).",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def zone(self):
        """The organization's time zone (UTC when unset or unknown): its days, hours and dates."""
        from datetime import UTC
        from zoneinfo import ZoneInfo

        try:
            return ZoneInfo(self.timezone or "UTC")
        except (ValueError, KeyError):
            return UTC

    def quiet_hours_release(self, now=None):
        """When quiet hours end, if `now` (default: now) falls inside them; else None."""
        from datetime import UTC, datetime, timedelta

        from django.utils import timezone

        start, end = self.quiet_hours_start, self.quiet_hours_end
        if start is None or end is None or start == end:
            return None
        tz = self.zone()
        local = (now or timezone.now()).astimezone(tz)
        t = local.time().replace(tzinfo=None)
        if not (start <= t < end if start < end else (t >= start or t < end)):
            return None
        release_day = local.date() if t < end else local.date() + timedelta(days=1)
        # fold=0: a DST gap resolves past the gap, a repeated hour to its first occurrence.
        return datetime.combine(release_day, end).replace(tzinfo=tz, fold=0).astimezone(UTC)

    def keywords(self, kind: str) -> list[str]:
        """Configured keywords of a kind ("opt_out", "opt_in", "help"), else the defaults; opt-out
        keywords are the standard set plus the configured ones (localized: ARRET, BAJA)."""
        defaults = {
            "opt_out": DEFAULT_OPT_OUT_KEYWORDS,
            "opt_in": DEFAULT_OPT_IN_KEYWORDS,
            "help": DEFAULT_HELP_KEYWORDS,
        }
        configured = [keyword_normalize(k) for k in getattr(self, f"{kind}_keywords") or []]
        if kind == "opt_out":  # the standard set is never replaced, only extended
            return list(dict.fromkeys([*DEFAULT_OPT_OUT_KEYWORDS, *configured]))
        return configured or defaults[kind]


class EntityType(models.TextChoices):
    PATIENT = "patient", "Patient"
    ORGANIZATION_USER = "organization-user", "Organization user"
    CAREGIVER = "caregiver", "Caregiver"


class Person(models.Model):
    """BioT's user attributes, shared by patients, organization users and caregivers."""

    class Gender(models.TextChoices):
        MALE = "MALE"
        FEMALE = "FEMALE"
        OTHER = "OTHER"
        UNDISCLOSED = "UNDISCLOSED"

    class Enabled(models.TextChoices):
        ENABLED = "ENABLED"
        DISABLED = "DISABLED"

    class RegistrationSource(models.TextChoices):
        INVITATION = "INVITATION"
        SELF_REGISTRATION = "SELF_REGISTRATION"
        IMPORT = "IMPORT"

    entity_type: str = ""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100, blank=True, default="")
    description = models.CharField(max_length=500, blank=True, default="")
    email = models.EmailField(blank=True, default="")
    phone = PhoneNumberField(blank=True, db_index=True)
    locale = models.CharField(
        max_length=16,
        blank=True,
        default="en-us",
        validators=[validate_locale],
        help_text="The language messages to them are sent in, e.g. es or es-MX (docs/portal.md, Texts by language).",
    )
    gender = models.CharField(max_length=16, choices=Gender.choices, blank=True, default="")
    date_of_birth = models.DateField(null=True, blank=True)
    address_country_code = models.CharField(max_length=2, blank=True, default="")
    address_state = models.CharField(max_length=100, blank=True, default="")
    address_city = models.CharField(max_length=100, blank=True, default="")
    address_zip_code = models.CharField(max_length=20, blank=True, default="")
    address_line1 = models.CharField(max_length=200, blank=True, default="")
    address_line2 = models.CharField(max_length=200, blank=True, default="")
    national_id = models.CharField(max_length=64, blank=True, default="")
    enabled = models.CharField(max_length=8, choices=Enabled.choices, default=Enabled.ENABLED)
    can_login = models.BooleanField(default=False)
    invitation_accepted = models.BooleanField(default=False)
    mfa_enabled = models.BooleanField(default=False)
    registration_source = models.CharField(
        max_length=20, choices=RegistrationSource.choices, default=RegistrationSource.INVITATION
    )
    custom_attributes = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True
        ordering = ["last_name", "first_name"]

    def __str__(self) -> str:
        return self.full_name

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def caption(self) -> str:
        """BioT's `_caption`: "<last> <first> (<national id>)"."""
        name = f"{self.last_name} {self.first_name}".strip()
        return f"{name} ({self.national_id})" if self.national_id else name


class Patient(Person):
    entity_type = EntityType.PATIENT

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="patients")

    class Meta(Person.Meta):
        indexes = [models.Index(fields=["organization", "phone"], name="patient_org_phone")]


class OrganizationUser(Person):
    """Staff. May be linked to a Django login for the portal."""

    entity_type = EntityType.ORGANIZATION_USER

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="organization_users")
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="organization_user"
    )

    class Meta(Person.Meta):
        indexes = [models.Index(fields=["organization", "phone"], name="orguser_org_phone")]


class Caregiver(Person):
    entity_type = EntityType.CAREGIVER

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="caregivers")
    patients = models.ManyToManyField(Patient, blank=True, related_name="caregivers")

    class Meta(Person.Meta):
        indexes = [models.Index(fields=["organization", "phone"], name="caregiver_org_phone")]


ENTITY_MODELS = {m.entity_type: m for m in (Patient, OrganizationUser, Caregiver)}


class ApiKey(models.Model):
    """An organization-scoped API key. Only a SHA-256 of the secret is stored; shown once."""

    PREFIX_LENGTH = 8

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100, default="default")
    prefix = models.CharField(max_length=PREFIX_LENGTH, unique=True, editable=False)
    key_hash = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @staticmethod
    def hash(raw: str) -> str:
        return hashlib.sha256(raw.encode()).hexdigest()

    @classmethod
    def generate(cls) -> tuple[str, str]:
        """A new raw key `sp_<prefix>_<secret>` and its prefix."""
        prefix = secrets.token_hex(cls.PREFIX_LENGTH // 2)
        return f"sp_{prefix}_{secrets.token_urlsafe(32)}", prefix


# Registered with the app from here; they refer to Organization above.
from entities.models_consent import Consent, ConsentProgram, ConsentRecord, ConsentSource, ConsentStatus  # noqa: E402, I001

__all__ = [
    "ENTITY_MODELS",
    "ApiKey",
    "Caregiver",
    "Consent",
    "ConsentProgram",
    "ConsentRecord",
    "ConsentSource",
    "ConsentStatus",
    "EntityType",
    "Organization",
    "OrganizationUser",
    "Patient",
    "Person",
]
