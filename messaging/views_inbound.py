"""DHIS2 `/api/sms/inbound` (DHIS2's SMS Web API, "Inbound"; docs/api.md).

POST stores a received SMS for the caller's organization and routes it like a provider webhook;
GET lists and shows, DELETE removes. Replies use DHIS2's WebMessage envelope; an unknown sender
is stored and fails visibly (NO_ENTITY) instead of DHIS2's 409, so nothing is lost.
"""

import uuid
from datetime import UTC, datetime, time

from django.utils.dateparse import parse_date, parse_datetime
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from entities.selectors import organization_for_user, scope_to_user
from gateways.models import Gateway
from gateways.providers.base import InboundSms
from messaging.models import InboundMessage
from messaging.serializers_outbound import WebMessageSerializer
from messaging.services.receive import inbound_delete, inbound_receive
from smsportal import dhis2
from smsportal.http import body_too_large
from smsportal.input_safety import HostileInput, json_loads
from smsportal.parsers import SafeJSONParser

ENCODINGS = ["ENC7BIT", "ENC8BIT", "ENCUCS2", "ENCCUSTOM"]  # DHIS2 SmsMessageEncoding, in enum order
# Ours → DHIS2 SmsMessageStatus; the finer status and reason are listed beside it.
DHIS2_STATUS = {
    InboundMessage.Status.RECEIVED: "INCOMING",
    InboundMessage.Status.PROCESSING: "PROCESSING",
    InboundMessage.Status.PROCESSED: "PROCESSED",
    InboundMessage.Status.FAILED: "FAILED",
}
DHIS2_STATUS_NAMES = ["INCOMING", "PROCESSING", "UNHANDLED", "FAILED", "PROCESSED", "SENT"]
FIELDS = [
    "id",
    "displayName",
    "created",
    "lastUpdated",
    "text",
    "originator",
    "recipient",
    "gatewayid",
    "receiveddate",
    "sentdate",
    "smsencoding",
    "smsstatus",
    "status",
    "failureReason",
    "inboundMessageId",
    "entityType",
    "entityId",
]


class Dhis2Reply(Exception):
    """Stop handling and answer with this WebMessage."""

    def __init__(self, response):
        self.response = response


def _time(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z") if value else None


def inbound_dhis2_representation(message: InboundMessage) -> dict:
    return {
        "id": str(message.id),
        "displayName": str(message.id),
        "created": _time(message.created_at),
        "lastUpdated": _time(message.updated_at),
        "text": message.text,
        "originator": message.originator,
        "recipient": message.recipient or None,  # which of our numbers it was sent to
        "gatewayid": message.gateway_label,
        "receiveddate": _time(message.received_at),
        "sentdate": _time(message.sent_at),
        "smsencoding": message.encoding or "ENC7BIT",
        "smsstatus": DHIS2_STATUS.get(message.status, "INCOMING"),
        "status": message.status,
        "failureReason": message.failure_reason or None,
        "inboundMessageId": str(message.in_reply_to_id) if message.in_reply_to_id else None,
        "entityType": message.entity_type or None,
        "entityId": str(message.entity_id) if message.entity_id else None,
    }


def _parse_time(value, field: str) -> datetime | None:
    """DHIS2 dates: `2016-05-01` or an ISO timestamp (naive = UTC). Anything else → 400."""
    if value in (None, ""):
        return None
    text = str(value).strip()
    try:
        parsed = parse_datetime(text)
        if parsed is None:
            day = parse_date(text)
            parsed = datetime.combine(day, time.min) if day else None
    except ValueError:
        parsed = None
    if parsed is None:
        raise Dhis2Reply(
            dhis2.bad_request(f"{field} is not a date (use 2016-05-01 or an ISO 8601 timestamp)", field=field)
        )
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _parse_encoding(value) -> str:
    if value in (None, ""):
        return "ENC7BIT"
    text = str(value).strip().upper()
    if text.isdigit() and int(text) < len(ENCODINGS):
        return ENCODINGS[int(text)]  # the seed's "1" is an enum index
    if text in ENCODINGS:
        return text
    raise Dhis2Reply(dhis2.bad_request(f"smsencoding must be one of {', '.join(ENCODINGS)}", field="smsencoding"))


def _read_submission(request) -> dict:
    """The fields of a POST, from the JSON body or the query string (DHIS2 accepts both)."""
    if body_too_large(request):
        raise Dhis2Reply(dhis2.web_message("Request body is larger than 64 KiB", http_status=413))
    if (request.content_type or "").startswith("application/json"):
        try:
            data = json_loads(request.body or b"{}")
        except HostileInput as exc:
            raise Dhis2Reply(dhis2.bad_request(str(exc), field=exc.field))
        except (ValueError, UnicodeDecodeError):
            raise Dhis2Reply(dhis2.bad_request("Request body is not valid JSON", field="body"))
        if not isinstance(data, dict):
            raise Dhis2Reply(dhis2.bad_request("Request body must be a JSON object", field="body"))
        return {
            "originator": data.get("originator"),
            "text": data.get("text"),
            "text_field": "text",
            "gateway": (str(data.get("gatewayid") or "").strip() or "default"),
            "received": _parse_time(data.get("receiveddate"), "receiveddate"),
            "sent": _parse_time(data.get("sentdate"), "sentdate"),
            "encoding": _parse_encoding(data.get("smsencoding")),
        }
    params = request.query_params
    received_field = "receivedTime" if params.get("receivedTime") else "receiveTime"
    return {
        "originator": params.get("originator"),
        "text": params.get("message"),
        "text_field": "message",
        "gateway": (params.get("gateway") or "").strip() or "Unknown",
        "received": _parse_time(params.get(received_field), received_field),
        "sent": None,
        "encoding": "ENC7BIT",
    }


def _gateway_for_label(organization, label: str):
    """The organization's gateway a DHIS2 gatewayid names (its uid or name), for replies; else None."""
    qs = Gateway.objects.filter(organization=organization, is_active=True)
    try:
        return qs.filter(pk=uuid.UUID(label)).first()
    except ValueError:
        return qs.filter(name=label).first()


def _ours(dhis2_status: str) -> list[str]:
    return [ours for ours, theirs in DHIS2_STATUS.items() if theirs == dhis2_status]


def _apply_filters(queryset, filters: list[str]):
    """`filter=property:operator:value` on smsstatus (DHIS2 names), status, originator, gatewayid, id."""
    lookups = {"status": "status__in", "originator": "originator__in", "gatewayid": "gateway_label__in"}
    for raw in filters:
        parts = raw.split(":", 2)
        if len(parts) != 3:
            raise Dhis2Reply(
                dhis2.bad_request(f"filter must look like property:operator:value, got {raw!r}", field="filter")
            )
        prop, op, value = parts
        if op not in ("eq", "ne", "in", "!in"):
            raise Dhis2Reply(dhis2.bad_request(f"unsupported filter operator {op!r} (eq, ne, in, !in)", field="filter"))
        values = [v.strip() for v in value.strip("[]").split(",")] if op in ("in", "!in") else [value]
        if prop == "smsstatus":
            unknown = [v for v in values if v.upper() not in DHIS2_STATUS_NAMES]
            if unknown:
                raise Dhis2Reply(
                    dhis2.bad_request(f"unknown smsstatus {unknown[0]!r}; one of {DHIS2_STATUS_NAMES}", field="filter")
                )
            lookup = {"status__in": [s for v in values for s in _ours(v.upper())]}
        elif prop == "id":
            lookup = {"id__in": _uuids(values)}
        elif prop in lookups:
            lookup = {lookups[prop]: values}
        else:
            raise Dhis2Reply(
                dhis2.bad_request(
                    f"cannot filter on {prop!r} (smsstatus, status, originator, gatewayid, id)", field="filter"
                )
            )
        queryset = queryset.exclude(**lookup) if op in ("ne", "!in") else queryset.filter(**lookup)
    return queryset


def _uuids(values) -> list[uuid.UUID]:
    out = []
    for v in values:
        try:
            out.append(uuid.UUID(str(v).strip()))
        except ValueError:
            continue
    return out


def _selected_fields(request) -> list[str]:
    wanted = [f.strip() for f in (request.query_params.get("fields") or "id,displayName").split(",") if f.strip()]
    if any(f in ("*", ":all", ":owner") for f in wanted):
        return FIELDS
    return [f for f in wanted if f in FIELDS] or ["id"]


class Dhis2View(dhis2.Dhis2ExceptionMixin, APIView):
    """Every refusal is a WebMessage: our own (Dhis2Reply) and DRF's (auth, parse, validation)."""

    # The JSON body is read raw (size cap, DHIS2 errors); DRF only needs to accept the media type.
    parser_classes = [SafeJSONParser]

    def handle_exception(self, exc):
        if isinstance(exc, Dhis2Reply):
            return exc.response
        return super().handle_exception(exc)


@extend_schema(tags=["DHIS2"])
class Dhis2InboundApi(Dhis2View):
    """`/api/sms/inbound`: POST (JSON or query form), GET (paged, filterable), DELETE ?ids=a,b."""

    @extend_schema(
        parameters=[
            OpenApiParameter("originator", str, description="query form: the sender"),
            OpenApiParameter("message", str, description="query form: the text"),
            OpenApiParameter("gateway", str, description="query form: gateway id (default `Unknown`)"),
            OpenApiParameter("receivedTime", str, description="query form (the seed's `receiveTime` too)"),
        ],
        request={"application/json": dict},
        responses={200: dict, 400: dict, 403: dict, 409: dict, 413: dict},
        operation_id="dhis2_inbound_create",
    )
    def post(self, request):
        organization = organization_for_user(request.user)
        if organization is None:
            return dhis2.web_message("Act as an organization: use an organization's API key or user", http_status=403)
        data = _read_submission(request)
        for key, field in (("originator", "originator"), ("text", data["text_field"])):
            if data[key] is not None and not isinstance(data[key], str):
                return dhis2.bad_request(f"{field} must be a string", field=field)
        originator = (data["originator"] or "").strip()
        text = data["text"] or ""
        if not originator:
            return dhis2.conflict("Originator must be specified", response={"field": "originator"})
        if not text.strip():
            return dhis2.conflict("Message must be specified", response={"field": data["text_field"]})
        if "\x00" in text or len(originator) > 32:
            return dhis2.bad_request("originator or message contains invalid characters", field="originator")
        sms = InboundSms(
            sender=originator,
            recipient="",
            text=text,
            provider_message_id="",  # DHIS2 submissions carry no provider id: each POST is one message
            received_at=data["received"],
            raw={"source": "dhis2_api", "gatewayid": data["gateway"]},
        )
        message, _ = inbound_receive(
            organization=organization,
            gateway=_gateway_for_label(organization, data["gateway"]),
            sms=sms,
            gateway_label=data["gateway"],
            source_ip=request.META.get("REMOTE_ADDR"),
            encoding=data["encoding"],
            sent_at=data["sent"],
        )
        return dhis2.web_message(f"Received SMS: {message.id}")

    @extend_schema(
        parameters=[
            OpenApiParameter("page", int),
            OpenApiParameter("pageSize", int),
            OpenApiParameter("paging", bool),
            OpenApiParameter("fields", str, description="`*` or a comma list; default `id,displayName`"),
            OpenApiParameter("filter", str, many=True, description="`smsstatus:eq:INCOMING`, `originator:eq:+47…`"),
        ],
        responses=dict,
        operation_id="dhis2_inbound_list",
    )
    def get(self, request):
        paging, page, page_size = dhis2.page_params(request)
        # Never an unattributed reply (no organization), not even for a superuser's session.
        queryset = scope_to_user(InboundMessage.objects.filter(organization__isnull=False), request.user)
        queryset = queryset.order_by("-received_at")
        queryset = _apply_filters(queryset, request.query_params.getlist("filter"))
        fields = _selected_fields(request)
        body = {}
        if paging:
            total = queryset.count()
            body["pager"] = dhis2.pager(page=page, page_size=page_size, total=total)
            queryset = queryset[(page - 1) * page_size : page * page_size]
        body["inboundsmss"] = [
            {k: v for k, v in inbound_dhis2_representation(m).items() if k in fields} for m in queryset
        ]
        return Response(body)

    @extend_schema(
        parameters=[OpenApiParameter("ids", str, description="comma-separated")],
        responses={200: WebMessageSerializer},
        operation_id="dhis2_inbound_delete_many",
    )
    def delete(self, request):
        organization = organization_for_user(request.user)
        ids = [i for part in request.query_params.getlist("ids") for i in part.split(",") if i.strip()]
        if organization is not None:
            inbound_delete(organization=organization, ids=ids)
        elif getattr(request.user, "is_superuser", False):
            InboundMessage.objects.filter(pk__in=_uuids(ids), organization__isnull=False).delete()
        return dhis2.web_message("Objects deleted")


@extend_schema(tags=["DHIS2"])
class Dhis2InboundDetailApi(Dhis2View):
    """`/api/sms/inbound/{id}`: GET one, DELETE one; another organization's id is 404."""

    def _get(self, request, uid):
        message = None
        if _uuids([uid]):
            found = InboundMessage.objects.filter(pk=uid, organization__isnull=False)
            message = scope_to_user(found, request.user).first()
        if message is None:
            raise Dhis2Reply(dhis2.not_found(f"No IncomingSms with id '{uid}' was found."))
        return message

    @extend_schema(responses=dict, operation_id="dhis2_inbound_retrieve")
    def get(self, request, uid):
        message = self._get(request, uid)
        return Response(inbound_dhis2_representation(message))

    @extend_schema(responses={200: WebMessageSerializer}, operation_id="dhis2_inbound_delete")
    def delete(self, request, uid):
        message = self._get(request, uid)
        message.delete()
        return dhis2.web_message(f"IncomingSms with {uid} deleted")
