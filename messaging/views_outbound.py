"""The two send APIs: BioT's `POST /notification/v1/sms/send` and DHIS2's `/api/sms/outbound`.

Thin: parse and validate the request, call messaging.services.outbound, shape the answer.
"""

import uuid

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from entities.selectors import organization_for_user, scope_to_user
from messaging.exceptions import MessageRejected
from messaging.models import OutboundMessage
from messaging.serializers_outbound import (
    DHIS2_STATUS_NAMES,
    OUTBOUND_FIELDS,
    Dhis2OutboundInputSerializer,
    Dhis2OutboundListSerializer,
    Dhis2OutboundSmsSerializer,
    Dhis2SendWebMessageSerializer,
    SmsSendInputSerializer,
    SmsSendOutputSerializer,
    WebMessageSerializer,
    our_statuses,
    outbound_dhis2_representation,
    valid_until_parse,
)
from messaging.services.idempotency import HEADER, idempotency_key_validate, idempotent_response
from messaging.services.outbound import messages_queue
from smsportal import dhis2
from smsportal.exceptions import ApiError, ApiErrorSerializer

Source = OutboundMessage.Source


def _organization(request):
    organization = organization_for_user(request.user)
    if organization is None:
        # A superuser without an organization: sending must be on behalf of one.
        raise ApiError("sending needs an organization: use an organization's API key or user", status_code=403)
    return organization


# ---------------------------------------------------------------------------------------------
# BioT


class SmsSendApi(APIView):
    """Send one SMS (BioT): `{"message", "phoneNumber"}` → `{"messageId"}`."""

    renderer_classes = [JSONRenderer]  # JSON only: the hot path skips browsable-API negotiation

    @extend_schema(
        operation_id="notification_sms_send",
        tags=["BioT"],
        request=SmsSendInputSerializer,
        parameters=[
            OpenApiParameter(
                HEADER,
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                description="Same key + same body → the same messageId and nothing new sent; "
                "same key + another body → 409.",
            )
        ],
        responses={
            200: SmsSendOutputSerializer,
            400: OpenApiResponse(ApiErrorSerializer, description="invalid field (named in `field`/`fields`)"),
            401: ApiErrorSerializer,
            409: OpenApiResponse(
                ApiErrorSerializer,
                description="opted out (of everything or of the program), no consent to a program that requires it, "
                "the exemption guard's limit, no gateway, or Idempotency-Key reused with another body "
                "(`code` says which)",
            ),
        },
    )
    def post(self, request):
        organization = _organization(request)
        key = idempotency_key_validate(request.headers.get(HEADER))
        serializer = SmsSendInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data

        def produce() -> Response:
            try:
                result = messages_queue(
                    organization=organization,
                    recipients=[data["phoneNumber"]],
                    body=data["message"],
                    source=Source.BIOT_API,
                    idempotency_key=key,
                    refuse_opted_out=True,
                    valid_until=data.get("validUntil"),
                    program=data.get("program") or None,
                )
            except MessageRejected as exc:
                raise ApiError(str(exc), status_code=exc.status_code, field=exc.field, code=exc.code)
            return Response({"messageId": str(result.stored[0][0])})

        return idempotent_response(request, organization=organization, produce=produce)


# ---------------------------------------------------------------------------------------------
# DHIS2


class Dhis2Error(Exception):
    """A DHIS2-style refusal, rendered as a WebMessage."""

    def __init__(self, response: Response):
        self.response = response


def _conflict(message: str, field: str | None = None, **extra) -> Dhis2Error:
    extra = {key: value for key, value in extra.items() if value is not None}  # DHIS2 omits null keys
    response = {"field": field, **extra} if field else (extra or None)
    return Dhis2Error(dhis2.conflict(message, response=response))


def _bad_request(message: str, field: str) -> Dhis2Error:
    return Dhis2Error(dhis2.bad_request(message, field=field))


class Dhis2View(dhis2.Dhis2ExceptionMixin, APIView):
    def handle_exception(self, exc):
        if isinstance(exc, Dhis2Error):
            return exc.response
        if isinstance(exc, RequestDataTooBig):
            return dhis2.web_message(
                f"request body is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes", http_status=413
            )
        return super().handle_exception(exc)


def _send_request_parse(request) -> tuple[str, list[str], str, str, object]:
    """(message, recipients, subject, program, validUntil) from the JSON body or the query-parameter form."""
    is_json = (request.content_type or "").startswith("application/json")
    if is_json and request.body:
        if not isinstance(request.data, dict):
            raise _bad_request("request body must be a JSON object", field="body")
        recipients = _recipients_validate(request.data.get("recipients"))
        # The serializer checks the other fields; recipients (up to 50,000) are checked above in
        # one pass, ~10x cheaper than a ListField's per-item field validation.
        serializer = Dhis2OutboundInputSerializer(data={k: v for k, v in request.data.items() if k != "recipients"})
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        message = data.get("message") or ""
        if not message.strip():
            raise _conflict("Message must be specified", field="message")
        if not [r for r in recipients if r.strip()]:
            raise _conflict("no recipient", field="recipients")
        return message, recipients, data.get("subject", ""), data.get("program", ""), data.get("validUntil")
    params = request.query_params if request.query_params else request.data
    # DHIS2's query form takes one recipient and does not split it on commas.
    recipient = (params.get("recipient") or "").strip()
    message = params.get("message") or ""
    if not recipient:
        raise _conflict("Recipient must be specified", field="recipient")
    if not message.strip():
        raise _conflict("Message must be specified", field="message")
    program = params.get("program") or ""
    if not isinstance(program, str) or len(program) > 50:
        raise _bad_request("program: a program's slug", field="program")
    return message, [recipient], "", program, valid_until_parse(params.get("validUntil"))


def _recipients_validate(value) -> list[str]:
    """The JSON `recipients`: a list of strings, bounded; missing means none."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise _bad_request("recipients: expected a list of phone numbers", field="recipients")
    if len(value) > settings.SMSPORTAL_MAX_RECIPIENTS:
        raise _bad_request(
            f"recipients: at most {settings.SMSPORTAL_MAX_RECIPIENTS} per request (got {len(value)})",
            field="recipients",
        )
    for item in value:
        if not isinstance(item, str) or len(item) > 40:
            raise _bad_request("recipients: every recipient must be a phone number string", field="recipients")
    return value


def _apply_filters(queryset, filters: list[str]):
    """DHIS2 `filter=property:operator:value` for status (DHIS2 names), deliveryStatus and id."""
    for raw in filters:
        parts = raw.split(":", 2)
        if len(parts) != 3:
            raise _bad_request(f"filter must look like property:operator:value, got {raw!r}", field="filter")
        prop, op, value = parts
        if op not in ("eq", "ne", "in", "!in"):
            raise _bad_request(f"unsupported filter operator {op!r} (eq, ne, in, !in)", field="filter")
        values = [v.strip() for v in value.strip("[]").split(",")] if op in ("in", "!in") else [value]
        if prop == "status":
            unknown = [v for v in values if v.upper() not in DHIS2_STATUS_NAMES]
            if unknown:
                raise _bad_request(f"unknown status {unknown[0]!r}; one of {DHIS2_STATUS_NAMES}", field="filter")
            lookup = {"status__in": [s for v in values for s in our_statuses(v.upper())]}
        elif prop == "deliveryStatus":
            lookup = {"status__in": values}
        elif prop == "id":
            ids = [v for v in values if _is_uuid(v)]
            lookup = {"id__in": ids}
        else:
            raise _bad_request(f"cannot filter on {prop!r} (status, deliveryStatus, id)", field="filter")
        queryset = queryset.exclude(**lookup) if op in ("ne", "!in") else queryset.filter(**lookup)
    return queryset


def _selected_fields(request) -> list[str]:
    raw = request.query_params.get("fields") or "id,displayName"
    wanted = [f.strip() for f in raw.split(",") if f.strip()]
    if any(f in ("*", ":all", ":owner") for f in wanted):
        return OUTBOUND_FIELDS
    return [f for f in wanted if f in OUTBOUND_FIELDS] or ["id"]


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


_LIST_PARAMETERS = [
    OpenApiParameter("page", int, description="1-based page (default 1)"),
    OpenApiParameter("pageSize", int, description="default 50, at most 1000"),
    OpenApiParameter("paging", bool, description="false → every match, no pager"),
    OpenApiParameter("fields", str, description="`*` or a comma list; DHIS2's default is `id,displayName`"),
    OpenApiParameter(
        "filter", str, many=True, description="`status:eq:SENT`, `status:in:[SENT,FAILED]`, `deliveryStatus:eq:queued`"
    ),
]


class Dhis2OutboundApi(Dhis2View):
    """DHIS2 `/api/sms/outbound`: send (JSON or query form), list, and delete by ids."""

    @extend_schema(
        operation_id="dhis2_sms_outbound_send",
        tags=["DHIS2"],
        request=Dhis2OutboundInputSerializer,
        parameters=[
            OpenApiParameter("recipient", str, description="query form: one recipient (not split on commas)"),
            OpenApiParameter("message", str, description="query form: the text"),
            OpenApiParameter("validUntil", str, description="query form: ISO 8601, in the future (else 400)"),
            OpenApiParameter(
                HEADER,
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                description="Same key + same request → the first answer replayed, nothing new sent; "
                "same key + another request → 409.",
            ),
        ],
        responses={
            200: OpenApiResponse(
                Dhis2SendWebMessageSerializer,
                description="Accepted for sending; `response.messages` has each recipient's message id.",
            ),
            400: OpenApiResponse(WebMessageSerializer, description="malformed input; `response.field` names it"),
            409: OpenApiResponse(
                WebMessageSerializer,
                description="No default gateway configured / no recipient / Recipient must be specified / "
                "Message must be specified / Sms text message is too long / Idempotency-Key reused",
            ),
        },
    )
    def post(self, request):
        organization = _organization(request)
        key = idempotency_key_validate(request.headers.get(HEADER))
        message, recipients, subject, program, valid_until = _send_request_parse(request)
        return idempotent_response(
            request,
            organization=organization,
            produce=lambda: self._send(organization, message, recipients, subject, key, program, valid_until),
        )

    def _send(self, organization, message, recipients, subject, key, program="", valid_until=None) -> Response:
        try:
            result = messages_queue(
                organization=organization,
                recipients=recipients,
                body=message,
                source=Source.DHIS2_API,
                subject=subject,
                idempotency_key=key,
                max_length_default=settings.SMSPORTAL_DHIS2_MAX_SMS_LENGTH,
                require_one=True,
                valid_until=valid_until,
                program=program or None,
            )
        except MessageRejected as exc:
            field = {"phoneNumber": "recipients"}.get(exc.field, exc.field)
            # DHIS2's own text as `message`; what made it fail here in `response.reason`.
            raise _conflict(exc.message, field=field, reason=exc.detail or None, refused=exc.refused or None)
        stored = result.stored
        ids_by_number = {recipient: message_id for message_id, recipient, _ in stored}
        refused = []
        for given, reason in result.refused:
            entry = {"recipient": given, "reason": reason}
            message_id = ids_by_number.get(given)
            if message_id is not None:
                entry["id"] = str(message_id)
            refused.append(entry)
        queued = sum(1 for _, _, status in stored if status == OutboundMessage.Status.QUEUED)
        body = {
            "batchId": str(result.batch_id) if stored else None,
            "total": len(stored) + sum(1 for r in refused if "id" not in r),
            "queued": queued,
            "messages": [{"id": str(i), "recipient": recipient, "status": status} for i, recipient, status in stored],
            "refused": refused,
        }
        text = f"SMS accepted for sending: {queued} queued"
        if refused:
            text += f", {len(refused)} refused"
        # "OK" even with refusals, as DHIS2's SMS Web API answers it (docs/api.md): the request was
        # accepted; each refused recipient is listed with the reason.
        return dhis2.web_message(text, status="OK", response=body)

    @extend_schema(
        operation_id="dhis2_sms_outbound_list",
        tags=["DHIS2"],
        parameters=_LIST_PARAMETERS,
        responses={200: Dhis2OutboundListSerializer, 400: WebMessageSerializer},
    )
    def get(self, request):
        paging, page, page_size = dhis2.page_params(request)
        queryset = scope_to_user(OutboundMessage.objects.all(), request.user).order_by("-created_at", "id")
        queryset = _apply_filters(queryset, request.query_params.getlist("filter"))
        fields = _selected_fields(request)
        body: dict = {}
        if paging:
            total = queryset.count()
            body["pager"] = dhis2.pager(page=page, page_size=page_size, total=total)
            queryset = queryset[(page - 1) * page_size : page * page_size]
        body["outboundsmss"] = [
            {k: v for k, v in outbound_dhis2_representation(m).items() if k in fields} for m in queryset
        ]
        return Response(body)

    @extend_schema(
        operation_id="dhis2_sms_outbound_delete_many",
        tags=["DHIS2"],
        parameters=[OpenApiParameter("ids", str, required=True, description="comma-separated uids")],
        responses={200: WebMessageSerializer, 400: WebMessageSerializer},
    )
    def delete(self, request):
        raw = request.query_params.get("ids") or ""
        ids = [i.strip() for i in raw.split(",") if _is_uuid(i.strip())]
        if not raw.strip():
            raise _bad_request("ids must be specified", field="ids")
        # Unknown ids (and other organizations' ids) are ignored, as DHIS2 does.
        scope_to_user(OutboundMessage.objects.filter(id__in=ids), request.user).delete()
        return dhis2.web_message("Objects deleted")


class Dhis2OutboundDetailApi(Dhis2View):
    """DHIS2 `/api/sms/outbound/{uid}`: one message, or delete it."""

    def _get(self, request, uid):
        message = None
        if _is_uuid(uid):
            message = scope_to_user(OutboundMessage.objects.filter(id=uid), request.user).first()
        return message

    @extend_schema(
        operation_id="dhis2_sms_outbound_retrieve",
        tags=["DHIS2"],
        parameters=[OpenApiParameter("fields", str, description="`*` (default) or a comma list, e.g. `id,status`")],
        responses={200: Dhis2OutboundSmsSerializer, 404: WebMessageSerializer},
    )
    def get(self, request, uid):
        message = self._get(request, uid)
        if message is None:
            return dhis2.not_found(f"OutboundSms with id {uid} could not be found.")
        body = outbound_dhis2_representation(message)
        if request.query_params.get("fields"):  # without `fields` an object is rendered whole, as in DHIS2
            fields = _selected_fields(request)
            body = {k: v for k, v in body.items() if k in fields}
        return Response(body)

    @extend_schema(
        operation_id="dhis2_sms_outbound_delete",
        tags=["DHIS2"],
        responses={200: WebMessageSerializer, 404: WebMessageSerializer},
    )
    def delete(self, request, uid):
        message = self._get(request, uid)
        if message is None:
            return dhis2.not_found(f"No OutboundSms with id '{uid}' was found.")
        message.delete()
        return dhis2.web_message(f"OutboundSms with {uid} deleted")
