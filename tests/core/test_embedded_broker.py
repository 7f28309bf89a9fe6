"""The embedded mode (`make run`: no broker, Celery eager) logs no broker warnings."""

import os

from tests.fresh_process import python_run

CODE = """
import logging, django
django.setup()
logging.getLogger().setLevel(logging.WARNING)
from django.conf import settings
from smsportal.celery import app
from smsportal.redis import get_redis
app.connection_for_write()._info()  # what kombu does around eager sends, where it used to warn
print(settings.CELERY_TASK_ALWAYS_EAGER, settings.CELERY_BROKER_URL, get_redis())
"""


def test_eager_mode_uses_an_in_memory_broker_url_and_nothing_warns():
    unset = ("CELERY_BROKER_URL", "REDIS_URL", "CELERY_TASK_ALWAYS_EAGER", "DATABASE_URL")
    env = {k: v for k, v in os.environ.items() if k not in unset}
    done = python_run(CODE, env)
    assert done.stdout.split() == ["True", "memory://localhost/", "None"]  # eager, no Redis client
    assert "No hostname was supplied" not in done.stderr + done.stdout
    assert "WARNING" not in done.stderr


def test_a_configured_broker_is_used_as_given():
    env = {k: v for k, v in os.environ.items() if k not in ("CELERY_TASK_ALWAYS_EAGER",)}
    code = "import django; django.setup(); from django.conf import settings as s; "
    code += "print(s.CELERY_TASK_ALWAYS_EAGER, s.CELERY_BROKER_URL)"
    out = python_run(code, {**env, "CELERY_BROKER_URL": "redis://127.0.0.1:6379/7"}).stdout
    assert out.split() == ["False", "redis://127.0.0.1:6379/7"]
