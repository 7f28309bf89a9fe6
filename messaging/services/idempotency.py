"""`Idempotency-Key` for the send APIs (Stripe semantics).

The first request with a key stores its answer; a retry with the same key and the same body gets
that answer back and sends nothing; the same key with another body is a 409. The record and the
messages commit in one transaction, so a request that fails leaves no record and can be retried.
"""

import hashlib
import json
from collections.abc import Callable

from django.db import IntegrityError, transaction
from rest_framework.response import Response

from messaging.models import IdempotencyRecord
from smsportal.exceptions import ApiError

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255
IN_PROGRESS = "a request with this Idempotency-Key is in progress; retry"


def request_fingerprint(*, path: str, payload) -> str:
    if hasattr(payload, "lists"):  # a QueryDict (form body or query string): keep repeated values
        payload = dict(payload.lists())
    canonical = json.dumps({"path": path, "payload": payload}, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def idempotency_key_validate(raw: str | None) -> str:
    key = (raw or "").strip()
    if len(key) > MAX_KEY_LENGTH:
        raise ApiError(f"{HEADER} must be at most {MAX_KEY_LENGTH} characters", field=HEADER)
    return key


def idempotent_call(
    *, organization, key: str, fingerprint: str, produce: Callable[[], tuple[int, dict]]
) -> tuple[int, dict, bool]:
    """Run `produce` once per (organization, key). Returns (status, body, replayed)."""
    with transaction.atomic():
        try:
            with transaction.atomic():
                record = IdempotencyRecord.objects.create(organization=organization, key=key, fingerprint=fingerprint)
        except IntegrityError:
            # Another request holds or held this key; on PostgreSQL the insert waited for it to commit.
            record = IdempotencyRecord.objects.filter(organization=organization, key=key).first()
            if record is None:  # the other request rolled back after our insert failed
                raise ApiError(IN_PROGRESS, status_code=409, field=HEADER)
            if record.fingerprint != fingerprint:
                raise ApiError(
                    "this Idempotency-Key was already used with a different request",
                    status_code=409,
                    field=HEADER,
                    code="idempotency_key_reused",
                )
            if record.response_body is None:
                raise ApiError(IN_PROGRESS, status_code=409, field=HEADER)
            return record.response_status, record.response_body, True
        status, body = produce()
        record.response_status, record.response_body = status, body
        record.save(update_fields=["response_status", "response_body"])
        return status, body, False


def idempotent_response(request, *, organization, produce: Callable[[], Response]) -> Response:
    """The one `Idempotency-Key` entry point for every send API (BioT and DHIS2).

    Without a key `produce` simply runs. With a key, the first answer is stored and replayed
    (`Idempotent-Replayed: true`); another body (JSON or query string) with the key is a 409.
    """
    key = idempotency_key_validate(request.headers.get(HEADER))
    if not key:
        return produce()
    payload = {"query": request.query_params, "body": request.data}
    fingerprint = request_fingerprint(
        path=request.path, payload={k: dict(v.lists()) if hasattr(v, "lists") else v for k, v in payload.items()}
    )

    def call() -> tuple[int, dict]:
        response = produce()
        return response.status_code, response.data

    status, body, replayed = idempotent_call(organization=organization, key=key, fingerprint=fingerprint, produce=call)
    return Response(body, status=status, headers={"Idempotent-Replayed": "true"} if replayed else None)
