"""Retrying an invocation that cannot be retried is a conflict the client can read, never a 500."""

import pytest

from plugins.models import PluginInvocation
from tests.factories import PluginInvocationFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("status", [PluginInvocation.Status.SUCCEEDED])
def test_retrying_a_succeeded_invocation_is_409_and_changes_nothing(api_client, organization, status):
    invocation = PluginInvocationFactory(organization=organization, status=status, attempts=1)

    response = api_client.post(f"/api/v1/plugins/invocations/{invocation.id}/retry")

    assert response.status_code == 409, response.content
    assert "succeeded" in response.json()["error"]
    invocation.refresh_from_db()
    assert (invocation.status, invocation.attempts) == (status, 1)


def test_retrying_another_organizations_invocation_is_404(api_client, other_organization):
    invocation = PluginInvocationFactory(organization=other_organization, status=PluginInvocation.Status.FAILED)

    assert api_client.post(f"/api/v1/plugins/invocations/{invocation.id}/retry").status_code == 404
