"""One contract every provider adapter runs, against the providers' documented payloads
(tests/payloads/<provider>/, served by a loopback stand-in) and against the provider simulator.

A misread wire format written twice (adapter and simulator) passes the simulator's half and
fails the documented half. Every adapter in gateways.providers.ADAPTERS must have a contract
in tests/gateways/contract_cases.py: a new provider without one fails `test_every_adapter_has_a_contract`.
"""

import pytest

from gateways.exceptions import (
    GatewayAmbiguousError,
    GatewayRejectedError,
    GatewayTemporaryError,
    WebhookValidationError,
)
from gateways.providers import ADAPTERS
from tests.gateways.contract_cases import CONTRACTS
from tests.gateways.replay import Answer, ReplayServer

# The built-in simulator adapter does no I/O and has no wire format to hold to a document.
NOT_PROVIDERS = {"simulator"}
# Pull mode: the phone is the client (no send request, no webhooks of ours to call); its documented
# payloads are held by tests/gateways/test_provider_cht_gateway.py instead.
NOT_PROVIDERS |= {"cht_gateway"}


contract = pytest.mark.parametrize("c", CONTRACTS.values(), ids=list(CONTRACTS))


def test_every_adapter_has_a_contract():
    assert set(ADAPTERS) - NOT_PROVIDERS == set(CONTRACTS)


@pytest.fixture
def stand_in(settings):
    settings.SMSPORTAL_ALLOW_PRIVATE_URLS = True
    with ReplayServer() as server:
        yield server


# -- sending ----------------------------------------------------------------------------------


@contract
def test_send_success_documented(c, stand_in):
    stand_in.answer = c.success

    [result] = c.adapter(stand_in.url).send_batch([c.message])

    assert result.accepted and result.reference == c.message.reference
    assert result.provider_message_id == c.success_id
    [recorded] = stand_in.requests
    c.check_request(recorded)


@contract
def test_send_success_simulator(c, provider_simulator):
    [result] = c.adapter(provider_simulator.url).send_batch([c.message])

    assert result.accepted and result.provider_message_id in provider_simulator.messages
    [recorded] = provider_simulator.requests_for(c.simulator_name)
    c.check_request(recorded)


@contract
def test_refusal_fails_with_the_providers_reason_and_is_not_retried(c, stand_in):
    stand_in.answer = c.refusal

    with pytest.raises(GatewayRejectedError) as exc:
        c.adapter(stand_in.url).send_batch([c.message])

    assert c.refusal_reason in str(exc.value)
    assert len(stand_in.requests) == 1  # the adapter itself never retries


@contract
def test_rate_limit_is_retried_after_the_providers_delay(c, stand_in):
    stand_in.answer = Answer(429, b'{"__type": "ThrottlingException"}', headers={"Retry-After": "7"})

    with pytest.raises(GatewayTemporaryError) as exc:
        c.adapter(stand_in.url).send_batch([c.message])

    assert exc.value.result_code == "RESULT_CODE_429"
    assert exc.value.retry_after == (7.0 if c.retry_after_honoured else None)


@contract
def test_server_error_is_retried(c, stand_in):
    stand_in.answer = Answer(503, b'{"__type": "ServiceUnavailable"}')

    with pytest.raises(GatewayTemporaryError):
        c.adapter(stand_in.url).send_batch([c.message])


@contract
def test_read_timeout_is_unknown_never_resent_blindly(c, stand_in, settings):
    settings.SMSPORTAL_HTTP_TIMEOUT = 0.3
    stand_in.answer = Answer(c.success.status, c.success.body, c.success.content_type, hold=True)

    with pytest.raises(GatewayAmbiguousError):
        c.adapter(stand_in.url).send_batch([c.message])
    stand_in.release()


# -- webhooks ---------------------------------------------------------------------------------


def _adapter(c):
    return c.adapter("http://127.0.0.1:9")


@contract
def test_inbound_documented_payload_is_parsed(c):
    adapter, request = _adapter(c), c.inbound()

    adapter.verify_request(request, kind="inbound")
    [reply] = adapter.parse_inbound(request)

    assert {k: getattr(reply, k) for k in c.inbound_expected} == c.inbound_expected


@contract
def test_status_documented_payload_is_parsed(c):
    adapter, request = _adapter(c), c.status()

    adapter.verify_request(request, kind="status")
    [update] = adapter.parse_status(request)

    assert {k: getattr(update, k) for k in c.status_expected} == c.status_expected


@contract
def test_forged_or_unauthenticated_webhook_is_refused(c):
    with pytest.raises(WebhookValidationError):
        _adapter(c).verify_request(c.forged("inbound"), kind="inbound")
