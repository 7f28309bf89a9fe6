"""Who is acting, for the audit trail, when DRF authenticates (after the middlewares ran)."""

from auditlog.context import auditlog_value


def audit_actor_set(*, user=None, api_key_prefix: str = "") -> None:
    """Attribute this request's audited changes to a user or an API key.

    Adds to the context AuditActorMiddleware opened for the request (auditlog's own context dict,
    read when each entry is saved); outside a request (tasks, commands) there is none and
    nothing is attributed.
    """
    try:
        context = auditlog_value.get()
    except LookupError:
        return
    if user is not None:
        context["actor"] = user
    if api_key_prefix:
        context["api_key_prefix"] = api_key_prefix
