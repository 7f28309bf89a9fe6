"""W3C trace context ids: one trace id per received message, carried into its plugin calls."""

import secrets


def new_trace_id() -> str:
    return secrets.token_hex(16)


def traceparent(trace_id: str, span_id: str) -> str:
    """W3C traceparent: version-traceid-parentid-flags (the form of BioT's metadata.traceId)."""
    return f"00-{trace_id}-{span_id}-00"
