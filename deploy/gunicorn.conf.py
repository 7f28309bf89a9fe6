"""gunicorn settings for `make prod` and deploy/systemd/smsportal-web.service (docs/deploy.md).

Threaded workers: each open portal page holds its live-events stream (/portal/live, up to 5 minutes)
on a thread, which a sync worker would hold for the whole stream and kill at its timeout.
"""

import os

# Loopback by default: the reverse proxy is the only way in (BEHIND_TLS_PROXY trusts its headers).
bind = os.environ.get("BIND", f"127.0.0.1:{os.environ.get('PORT', '8000')}")
worker_class = "gthread"
workers = int(os.environ.get("WEB_WORKERS", "2"))
# Each thread may keep a database connection (CONN_MAX_AGE): workers × threads ≤ PostgreSQL's share.
threads = int(os.environ.get("WEB_THREADS", "16"))
timeout = 60  # a stuck request (not a live stream: gthread heartbeats from its main thread)
graceful_timeout = 20  # within systemd's and honcho's stop windows
keepalive = 5
max_requests = 10000  # recycle workers now and then, staggered
max_requests_jitter = 1000
# No access log: request lines carry query strings (numbers, texts); the app logs method and path.
accesslog = None
errorlog = "-"
# The control socket (one per user by default) would collide between instances on one host.
control_socket_disable = True
