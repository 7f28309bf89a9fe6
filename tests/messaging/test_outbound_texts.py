"""Each distinct sent text is stored once per organization, every copy points at it, and the message
log's text search finds sent messages through it (messaging/services/outbound_texts.py)."""

from unittest import mock

import pytest
from django.db import connection, transaction
from django.db.migrations.executor import MigrationExecutor

from messaging.models import OutboundMessage, OutboundText
from messaging.services import outbound_texts
from messaging.services.outbound import messages_queue
from tests.factories import GatewayFactory, OrganizationFactory

pytestmark = pytest.mark.django_db

BODY = "Clinic reminder: take your Metformin with dinner."


@pytest.fixture(autouse=True)
def no_dispatch():
    with mock.patch("messaging.services.outbound.dispatch_request"):
        yield


def numbers(n: int, exchange: int = 555) -> list[str]:
    return [f"+1202{exchange}{i:04d}" for i in range(n)]


def test_a_bulk_send_stores_its_text_once_and_every_copy_points_at_it(organization, gateway):
    messages_queue(organization=organization, recipients=numbers(120), body=BODY, source="portal")
    messages_queue(organization=organization, recipients=numbers(1, 556), body=BODY, source="portal")

    (text,) = OutboundText.objects.filter(organization=organization)
    assert text.body == BODY
    assert set(OutboundMessage.objects.values_list("text_id", flat=True)) == {text.pk}
    assert OutboundMessage.objects.count() == 121


def test_organizations_never_share_a_text(organization, gateway):
    other = OrganizationFactory(slug="texts-other")
    GatewayFactory(organization=other, name="other")
    for org in (organization, other):
        messages_queue(organization=org, recipients=numbers(1), body=BODY, source="portal")

    texts = OutboundText.objects.filter(body=BODY)
    assert sorted(texts.values_list("organization_id", flat=True)) == sorted([organization.pk, other.pk])
    for message in OutboundMessage.objects.all():
        assert OutboundText.objects.get(pk=message.text_id).organization_id == message.organization_id


def test_a_send_rolled_back_with_its_new_text_leaves_no_dangling_text_for_the_next(organization, gateway):
    outbound_texts._known.clear()
    with pytest.raises(RuntimeError), transaction.atomic():
        messages_queue(organization=organization, recipients=numbers(3), body=BODY, source="portal")
        raise RuntimeError("the caller's transaction fails after queueing")
    assert not OutboundText.objects.exists()

    messages_queue(organization=organization, recipients=numbers(1), body=BODY, source="portal")

    message = OutboundMessage.objects.get()
    assert OutboundText.objects.get(pk=message.text_id).body == BODY


@pytest.mark.django_db(transaction=True)
def test_upgrading_gives_messages_sent_before_the_texts_table_their_texts():
    """Migration 0013 on a database holding messages: each organization's distinct bodies become
    texts and every existing message points at its own."""
    before, after = [("messaging", "0012_message_template_consent_kinds")], [("messaging", "0013_outbound_texts")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    apps = executor.loader.project_state(before).apps
    organization = apps.get_model("entities", "Organization").objects.create(name="Old", slug="old-sends")
    message = apps.get_model("messaging", "OutboundMessage")
    for i, body in enumerate(["Take 1 tablet", "Take 1 tablet", "Clinic closed Friday"]):
        message.objects.create(organization=organization, recipient=f"+1202555000{i}", body=body, source="portal")

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(after)

    upgraded = OutboundMessage.objects.filter(organization_id=organization.pk)
    texts = dict(OutboundText.objects.filter(organization_id=organization.pk).values_list("id", "body"))
    assert sorted(texts.values()) == ["Clinic closed Friday", "Take 1 tablet"]
    assert all(texts[m.text_id] == m.body for m in upgraded)
    assert upgraded.count() == 3
