from auditlog.middleware import AuditlogMiddleware

from smsportal.security import client_ip


class AuditActorMiddleware(AuditlogMiddleware):
    """auditlog's middleware with our client address (the proxy-appended one, never a client-sent
    X-Forwarded-For entry) and without the client-sent port."""

    @staticmethod
    def _get_remote_addr(request):
        return client_ip(request)

    @staticmethod
    def _get_remote_port(request):
        return None
