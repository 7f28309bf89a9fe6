"""Built-in Python plugins: registered by dotted path in a registration's `handler`.

A handler is called as `handler(payload=<the call's body without jwt>, invocation=<PluginInvocation>)`
inside the invocation's Celery task; raising records a failed attempt that is retried like a
webhook's non-2xx answer.
"""


def builtin_plugin(func):
    """Mark a function as a built-in plugin; only marked functions can be named as a `handler`."""
    func.smsportal_plugin = True
    return func


@builtin_plugin
def record_only(*, payload: dict, invocation) -> None:
    """Does nothing: the invocation row is the record. Useful to see replies in the admin."""
