"""Requests through the project's WSGI application (smsportal/wsgi.py), which picks a middleware
stack per request: Django's test client always uses settings.MIDDLEWARE."""

import io

from smsportal.wsgi import application


def call(
    method: str, path: str, body: bytes = b"", query: str = "", headers: dict | None = None,
    content_type: str = "application/x-www-form-urlencoded",
):  # fmt: skip
    """One request through the WSGI application; returns (status code, headers, body)."""
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "REMOTE_ADDR": "127.0.0.1",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": io.StringIO(),
        "CONTENT_LENGTH": str(len(body)),
        "CONTENT_TYPE": content_type,
        **{f"HTTP_{k.upper().replace('-', '_')}": v for k, v in (headers or {}).items()},
    }
    answer = {}

    def start_response(status, response_headers, exc_info=None):
        answer["status"], answer["headers"] = int(status.split()[0]), dict(response_headers)

    content = b"".join(application(environ, start_response))
    return answer["status"], answer["headers"], content
