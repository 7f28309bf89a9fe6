"""Playwright driving Debian's Chromium (installed by .ci/install-browser; never `playwright install`)."""

import os
import shutil

import pytest

from tests.conftest import service_unavailable

CHROMIUM = os.environ.get("SMSPORTAL_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
]


@pytest.fixture(scope="session")
def browser():
    if not (os.path.exists(CHROMIUM) or shutil.which(CHROMIUM)):
        service_unavailable(f"needs Chromium at {CHROMIUM} (.ci/install-browser installs it)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        service_unavailable("needs the playwright package (requirements-dev.txt)")
    # Playwright's sync API keeps an event loop on this thread; Django's ORM calls made here (test
    # data, teardown) are still synchronous, so its async-context guard must not trip on them.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            yield browser
            browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture(autouse=True)
def _plain_http_cookies(settings):
    """The live server speaks plain HTTP, as `make run` does (DEBUG=1: cookies not Secure); with
    DEBUG=0 cookies are Secure and a browser may refuse them over HTTP."""
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
