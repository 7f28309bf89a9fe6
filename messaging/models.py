"""The message records: every SMS in and out, opt-outs, and API idempotency keys.

The OutboundMessage table is also the outbox: a row committed as `queued` is sent, failed
with a reason, or still queued — never lost (messaging/services/outbound.py).
"""

import uuid

from django.db import models
from django.db.models import Q
from django.db.models.functions import Now

# What a person reading a message sees change; internal bookkeeping (reservations, claims) is not listed.
_VISIBLE_CHANGES = frozenset(
    {"status", "gateway", "gateway_id", "error_reason", "provider_message_id", "next_attempt_at", "sender", "resent_as"}
)


class OutboundMessageQuerySet(models.QuerySet):
    """`update()`/`bulk_update()` bypass `auto_now`: these stamp `updated_at` on every visible change,
    so the API's `lastUpdated` and the admin's "Updated at" follow the message's state."""

    def update(self, **kwargs):
        if "updated_at" not in kwargs and _VISIBLE_CHANGES.intersection(kwargs):
            kwargs["updated_at"] = Now()
        return super().update(**kwargs)

    def bulk_update(self, objs, fields, batch_size=None):
        if "updated_at" not in fields and _VISIBLE_CHANGES.intersection(fields):
            from django.utils import timezone

            now = timezone.now()
            for obj in objs:
                obj.updated_at = now
            fields = [*fields, "updated_at"]
        return super().bulk_update(objs, fields, batch_size=batch_size)


class OutboundText(models.Model):
    """Each distinct text an organization sent, once (messaging/services/outbound_texts.py).

    The message log searches these, not the outbox: a 10,000-recipient send adds one row here, and
    the text's trigram index (PostgreSQL) is written once instead of once per recipient and again on
    every status change of every copy (docs/performance.md, "Searching sent texts")."""

    id = models.BigAutoField(primary_key=True)
    organization = models.ForeignKey(
        "entities.Organization", on_delete=models.CASCADE, related_name="+", db_constraint=False, db_index=False
    )
    digest = models.CharField(max_length=64, help_text="SHA-256 of the body, hex")
    body = models.TextField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization", "digest"], name="uniq_outbound_text")]

    def __str__(self) -> str:
        return self.body[:40]


class OutboundMessage(models.Model):
    """One SMS to one recipient.

    queued ─claim─> sending ─provider accepted─> sent ─DLR─> delivered | undelivered | failed
       ^               │ transient error (retry with backoff) ─┘
       └───────────────┘ call provably never started (sweeper)
    sending ─ambiguous (timeout, killed worker)─> unknown ─DLR or status lookup─> sent | delivered | ...
                                                  └─ provider never had it (lookup) ─> queued
    queued/sending ─rejected, opted out, retries exhausted─> failed (error_reason)
    queued ─past valid_until, never handed to a provider─> expired (error_reason)
    """

    class Status(models.TextChoices):
        QUEUED = "queued"
        SENDING = "sending"
        UNKNOWN = "unknown"
        SENT = "sent"
        DELIVERED = "delivered"
        UNDELIVERED = "undelivered"
        FAILED = "failed"
        EXPIRED = "expired"

    # Forward-only ranking for provider reports: a report never moves a message to a lower rank.
    RANK = {
        Status.QUEUED: 0,
        Status.SENDING: 1,
        Status.UNKNOWN: 2,
        Status.SENT: 3,
        Status.DELIVERED: 4,
        Status.UNDELIVERED: 4,
        Status.FAILED: 4,
        # Never handed to a provider in time. Ranked like `unknown`: a provider's report that it had the
        # message after all (a lost answer) still moves it on.
        Status.EXPIRED: 2,
    }
    FINAL = {Status.DELIVERED, Status.UNDELIVERED, Status.FAILED}
    # Terminal for the pipeline: nothing sends, retries or re-routes these.
    DONE = FINAL | {Status.EXPIRED}

    class Encoding(models.TextChoices):
        GSM7 = "GSM-7", "GSM-7"  # labelled as stored: the name alone made "Gsm7" in the admin
        UCS2 = "UCS-2", "UCS-2"

    class Source(models.TextChoices):
        BIOT_API = "biot_api", "BioT API"
        DHIS2_API = "dhis2_api", "DHIS2 API"
        PORTAL = "portal", "Portal"
        SCHEDULE = "schedule", "Schedule"
        SYSTEM = "system", "System (commands, alerts)"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # The outbox takes 10,000-row sends: no database-level foreign keys (their deferred per-row
    # checks cost a third of such an insert) and no index that a query does not use (each one is
    # rewritten by every insert and status update). Django still cascades deletes; a row whose
    # gateway vanished mid-send fails "gateway unavailable". See docs/performance.md.
    organization = models.ForeignKey(
        "entities.Organization", on_delete=models.CASCADE, related_name="+", db_constraint=False, db_index=False
    )
    batch_id = models.UUIDField(null=True, blank=True, help_text="The messages queued by one send, to its recipients.")
    recipient = models.CharField(max_length=16, help_text="E.164")
    sender = models.CharField(max_length=32, blank=True, default="")
    subject = models.CharField(max_length=200, blank=True, default="")
    body = models.TextField()
    # The body's OutboundText (what the log's text search finds). NULL only for rows written
    # without the outbox's services; the message itself always carries its body.
    text = models.ForeignKey(
        OutboundText, null=True, blank=True, on_delete=models.DO_NOTHING, related_name="+", db_constraint=False,
        db_index=False,
    )  # fmt: skip
    encoding = models.CharField(max_length=5, choices=Encoding.choices, default=Encoding.GSM7)
    segments = models.PositiveSmallIntegerField(default=1)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.QUEUED)
    gateway = models.ForeignKey(
        "gateways.Gateway",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    provider_message_id = models.CharField(max_length=128, null=True, blank=True)
    result_code = models.CharField(max_length=32, blank=True, default="", help_text="DHIS2 RESULT_CODE_* name")
    error_reason = models.CharField(max_length=300, blank=True, default="")
    provider_error_code = models.CharField(max_length=64, blank=True, default="")
    attempts = models.PositiveSmallIntegerField(default=0)
    source = models.CharField(max_length=12, choices=Source.choices)
    idempotency_key = models.CharField(max_length=255, blank=True, default="")
    possible_duplicate = models.BooleanField(default=False)
    # Claim bookkeeping: which delivery run holds the row and whether its provider call began.
    dispatched_at = models.DateTimeField(null=True, blank=True, help_text="When a delivery task was enqueued.")
    claim_token = models.UUIDField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    send_started_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    undelivered_at = models.DateTimeField(null=True, blank=True, help_text="When the network reported it undelivered.")
    unknown_at = models.DateTimeField(
        null=True, blank=True, help_text="When its provider outcome became unknown (reconciled from delivery reports)."
    )
    valid_until = models.DateTimeField(
        null=True, blank=True, help_text="Not handed to a provider by then → expired, never sent late."
    )
    expired_at = models.DateTimeField(null=True, blank=True)
    resent_as = models.UUIDField(
        null=True, blank=True, help_text="The copy a person resent after it may not have been sent (still unknown)."
    )
    # Each gateway that gave up on it before the current one: [{"at", "gateway", "gatewayName", "reason"}].
    # NULL until a failover (a constant default: the outbox's raw INSERT/COPY sets no callable defaults).
    route_history = models.JSONField(null=True, blank=True, default=None)

    objects = OutboundMessageQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["gateway", "provider_message_id"],
                condition=Q(provider_message_id__isnull=False),
                name="uniq_outbound_provider_message",
            ),
        ]
        indexes = [
            models.Index(fields=["created_at"], condition=Q(status="queued"), name="outbound_queued"),
            models.Index(fields=["claimed_at"], condition=Q(status="sending"), name="outbound_sending"),
            # Reply correlation asks by (organization, recipient); recipient first keeps lookups by
            # number alone cheap too.
            models.Index(fields=["recipient", "organization", "-created_at"], name="outbound_recipient_org"),
            models.Index(fields=["organization", "-created_at"], name="outbound_org_created"),
            # The log's text search: the matching texts' copies, newest first.
            models.Index(fields=["text", "-created_at"], name="outbound_text_created"),
            # The message log's "failed / undelivered / unknown" filters: a partial index, so only
            # the few rows in those states are in it (common states walk outbound_org_created).
            models.Index(
                fields=["organization", "status", "-created_at"],
                condition=Q(status__in=["failed", "undelivered", "unknown"]),
                name="outbound_org_trouble",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.id} ({self.status})"

    def held_until(self, now=None):
        """When a queued message held back (quiet hours, a retry's backoff) goes; else None."""
        from django.utils import timezone

        due = self.next_attempt_at
        if self.status == self.Status.QUEUED and due is not None and due > (now or timezone.now()):
            return due
        return None


class InboundMessage(models.Model):
    """One SMS received from a phone.

    received ─routing─> processed (entity matched, commands run, plugins invoked)
                      └> failed (failure_reason: NO_ENTITY, MULTIPLE_ENTITIES, ...)
    unattributed (no organization: a reply on a global gateway that no rule gives to exactly one
    organization) ─a superuser assigns it─> received
    """

    class Status(models.TextChoices):
        UNATTRIBUTED = "unattributed"
        RECEIVED = "received"
        PROCESSING = "processing"
        PROCESSED = "processed"
        FAILED = "failed"

    class FailureReason(models.TextChoices):
        NO_ENTITY = "NO_ENTITY"
        MULTIPLE_ENTITIES = "MULTIPLE_ENTITIES"
        INVALID_SENDER = "INVALID_SENDER"
        ROUTING_ERROR = "ROUTING_ERROR"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # Empty only while unattributed (messaging/services/attribution.py).
    organization = models.ForeignKey(
        "entities.Organization", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    gateway = models.ForeignKey("gateways.Gateway", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    gateway_label = models.CharField(max_length=100, blank=True, default="", help_text="DHIS2 gatewayid")
    originator = models.CharField(max_length=32, help_text="E.164 where parseable")
    recipient = models.CharField(max_length=32, blank=True, default="")
    text = models.TextField()
    encoding = models.CharField(max_length=12, blank=True, default="ENC7BIT")
    received_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    provider_message_id = models.CharField(max_length=128)
    raw = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.RECEIVED)
    failure_reason = models.CharField(max_length=32, blank=True, default="")
    entity_type = models.CharField(max_length=20, blank=True, default="")
    entity_id = models.UUIDField(null=True, blank=True)
    in_reply_to = models.ForeignKey(
        OutboundMessage, null=True, blank=True, on_delete=models.SET_NULL, related_name="replies"
    )
    previous_published_message_id = models.CharField(max_length=128, blank=True, default="")
    source_ip = models.GenericIPAddressField(null=True, blank=True)
    # W3C trace id (32 hex) shared by the plugin calls this message causes.
    trace_id = models.CharField(max_length=32, blank=True, default="")
    command = models.CharField(
        max_length=40,
        blank=True,
        default="",
        help_text="What the reply was taken as: opt_out, opt_in, help, or keyword:WORD for a keyword command; "
        "empty when none.",
    )
    processed_at = models.DateTimeField(null=True, blank=True)
    # Stored unattributed on arrival (kept once assigned): a provider's retry is still a duplicate.
    arrived_unattributed = models.BooleanField(default=False, editable=False)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-received_at"]
        constraints = [
            # The dedupe key: a provider's retry of the same message is stored once.
            models.UniqueConstraint(
                fields=["organization", "gateway_label", "provider_message_id"], name="uniq_inbound_provider_message"
            ),
            # NULLs are distinct above: unattributed copies of one provider message need their own,
            # which still holds once a superuser has assigned the stored one.
            models.UniqueConstraint(
                fields=["gateway_label", "provider_message_id"],
                condition=Q(arrived_unattributed=True),
                name="uniq_unattributed_provider_message",
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "originator", "-received_at"], name="inbound_org_originator"),
            # The portal's message log, newest first (portal/selectors/message_log.py).
            models.Index(fields=["organization", "-received_at"], name="inbound_org_received"),
            models.Index(
                fields=["organization", "status", "-received_at"],
                condition=Q(status__in=["received", "processing", "failed"]),
                name="inbound_org_unprocessed",
            ),
            models.Index(fields=["organization", "entity_type", "entity_id"], name="inbound_org_entity"),
            models.Index(fields=["created_at"], condition=Q(status="received"), name="inbound_received"),
        ]

    def __str__(self) -> str:
        return f"{self.id} ({self.status})"


class UnattributedInboundMessage(InboundMessage):
    """Replies held without an organization, for a superuser to assign (admin only)."""

    class Meta:
        proxy = True
        verbose_name = "unattributed reply"
        verbose_name_plural = "unattributed replies"


class OptOut(models.Model):
    """A number that asked not to be messaged by this organization."""

    class Method(models.TextChoices):
        KEYWORD = "keyword", "Reply keyword"
        API = "api", "API"
        ADMIN = "admin", "Admin"
        PROVIDER = "provider", "Provider report"

    organization = models.ForeignKey("entities.Organization", on_delete=models.CASCADE, related_name="opt_outs")
    phone_number = models.CharField(max_length=16, help_text="E.164")
    method = models.CharField(max_length=10, choices=Method.choices, default=Method.ADMIN)
    inbound_message = models.ForeignKey(InboundMessage, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "opt-out"
        constraints = [models.UniqueConstraint(fields=["organization", "phone_number"], name="uniq_opt_out")]

    def __str__(self) -> str:
        return f"opt-out {self.pk}"


class KeywordCommand(models.Model):
    """An organization's SMS command (DHIS2 SMS commands in spirit): the reply's first word picks an action.

    Opt-out, opt-in and help keywords are checked first and cannot be overridden here.
    """

    class Action(models.TextChoices):
        PLUGIN_ONLY = "plugin_only", "Hand to the named plugin only"
        REPLY = "reply", "Answer with the reply text (no plugins)"
        REPLY_AND_PLUGINS = "reply_and_plugins", "Answer with the reply text, then call plugins as usual"
        IGNORE = "ignore", "Store only (no plugins)"

    organization = models.ForeignKey("entities.Organization", on_delete=models.CASCADE, related_name="+")
    keyword = models.CharField(max_length=40, help_text="First word of the reply; matched case-insensitively.")
    action = models.CharField(max_length=20, choices=Action.choices, default=Action.PLUGIN_ONLY)
    plugin_name = models.CharField(max_length=100, blank=True, default="", help_text="For 'plugin only'.")
    reply_text = models.CharField(max_length=320, blank=True, default="")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["keyword"]
        constraints = [models.UniqueConstraint(fields=["organization", "keyword"], name="uniq_keyword_command")]

    def __str__(self) -> str:
        return self.keyword

    def clean(self):
        from django.core.exceptions import ValidationError

        self.keyword = (self.keyword or "").strip().upper()
        if not self.keyword or " " in self.keyword:
            raise ValidationError({"keyword": "one word"})
        if self.action == self.Action.PLUGIN_ONLY and not self.plugin_name:
            raise ValidationError({"plugin_name": "required for 'plugin only'"})
        if self.action in (self.Action.REPLY, self.Action.REPLY_AND_PLUGINS) and not self.reply_text:
            raise ValidationError({"reply_text": "required for a reply"})


class IdempotencyRecord(models.Model):
    """The first answer to an `Idempotency-Key`, replayed for retries (Stripe semantics)."""

    organization = models.ForeignKey("entities.Organization", on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64)
    response_status = models.PositiveSmallIntegerField(null=True)
    response_body = models.JSONField(null=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization", "key"], name="uniq_idempotency_key")]

    def __str__(self) -> str:
        return f"idempotency key {self.pk}"


from messaging.message_templates import MessageTemplate as MessageTemplate  # noqa: E402  (its own module)
