"""Plugins listen to messaging (messaging/listeners.py): a reply matched to a contact and a delivery
status change become invocations of the matching registrations. Registered in PluginsConfig.ready()."""

from plugins.invocations import invocations_for_incoming, invocations_save, plugins_invoke_status
from plugins.registrations import registrations_enabled


class _RoutingBatch:
    """The invocations of one routing batch: registrations read once (only when a reply matched),
    every invocation written in one INSERT at the batch's flush."""

    def __init__(self, organization):
        self.organization = organization
        self._registrations = None
        self.invocations: list = []

    def matched(self, *, message, entity, names: list[str] | None) -> None:
        if self._registrations is None:
            self._registrations = registrations_enabled(organization_id=self.organization.id)
        self.invocations.extend(
            invocations_for_incoming(message=message, entity=entity, registrations=self._registrations, names=names)
        )

    def flush(self) -> None:
        invocations_save(self.invocations)
        self.invocations = []


class PluginsListener:
    def routing_batch(self, organization) -> _RoutingBatch:
        return _RoutingBatch(organization)

    def delivery_status_changed(self, *, message, previous_status: str) -> None:
        plugins_invoke_status(message=message, previous_status=previous_status)


LISTENER = PluginsListener()
