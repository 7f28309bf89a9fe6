"""Every request example in docs/*.md runs as written against a live server, and answers what the
page says (status and the fields shown; "…" stands for a value that differs per run: ids, times).

An example is a fenced block marked `http`: the request as sent (method, path, headers, JSON body),
then `HTTP/1.1 <status>` and the documented answer. `<api key>` is the Demo Org's key as
`manage.py seed_demo` prints it, so the examples are what a newcomer runs after `make run`.
"""

import json
import re
import textwrap
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.core.management import call_command

DOCS = Path(__file__).resolve().parents[2] / "docs"
FENCE = re.compile(r"^( *)```http\n(.*?)^\1```", re.MULTILINE | re.DOTALL)  # also inside a list item
STATUS = re.compile(r"^HTTP/1\.1 (\d{3})\b.*$", re.MULTILINE)
ANY = "…"


@dataclass
class Example:
    where: str
    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    body: str = ""
    status: int = 0
    answer: object = None


def parse(text: str, where: str) -> Example:
    found = STATUS.search(text)
    assert found, f"{where}: no `HTTP/1.1 <status>` line after the request"
    request, response = text[: found.start()].strip("\n"), text[found.end() :].strip()
    head, _, body = request.partition("\n\n")
    first, *header_lines = head.splitlines()
    method, path = first.split()[:2]
    headers = dict(line.split(": ", 1) for line in header_lines)
    answer = json.loads(response) if response else None
    return Example(where, method, path, headers, body.strip(), int(found.group(1)), answer)


def examples() -> list[Example]:
    out = []
    for page in sorted(DOCS.glob("*.md")):
        text = page.read_text()
        for match in FENCE.finditer(text):
            line = text[: match.start()].count("\n") + 1
            out.append(parse(textwrap.dedent(match.group(2)), f"docs/{page.name}:{line}"))
    return out


def matches(documented, actual, where="") -> list[str]:
    """Where `actual` differs from what the page shows (documented keys only; "…" matches anything)."""
    if documented == ANY:
        return []
    if isinstance(documented, dict):
        if not isinstance(actual, dict):
            return [f"{where or '.'}: expected an object, got {actual!r}"]
        problems = []
        for key, value in documented.items():
            if key not in actual:
                problems.append(f"{where}.{key}: missing")
            else:
                problems += matches(value, actual[key], f"{where}.{key}")
        return problems
    if isinstance(documented, list):
        if not isinstance(actual, list):
            return [f"{where}: expected a list, got {actual!r}"]
        open_ended = bool(documented) and documented[-1] == ANY
        items = documented[:-1] if open_ended else documented
        if len(actual) < len(items) or (not open_ended and len(actual) != len(items)):
            return [f"{where}: {len(actual)} items, the page shows {len(items)}"]
        return [p for n, value in enumerate(items) for p in matches(value, actual[n], f"{where}[{n}]")]
    return [] if documented == actual else [f"{where}: {actual!r}, the page shows {documented!r}"]


def test_the_checker_reports_what_differs():
    assert matches({"a": ANY, "b": [1, ANY]}, {"a": 5, "b": [1, 2, 3], "c": 0}) == []
    assert matches({"a": 1}, {"a": 2}) == [".a: 2, the page shows 1"]
    assert matches({"b": [1]}, {"b": [1, 2]}) == [".b: 2 items, the page shows 1"]
    assert matches({"x": 1}, {}) == [".x: missing"]


def test_the_docs_have_runnable_examples_for_the_apis():
    pages = {e.where.split(":")[0] for e in examples()}
    assert {"docs/api.md", "docs/gateways.md", "docs/plugins.md"} <= pages


def _send(base: str, example: Example, key: str) -> tuple[int, object]:
    headers = {name: value.replace("<api key>", key) for name, value in example.headers.items()}
    data = example.body.encode() if example.body else None
    request = urllib.request.Request(base + example.path, data=data, headers=headers, method=example.method)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 — the live test server
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read()
    return status, (json.loads(raw) if raw.strip() else None)


@pytest.fixture
def demo_key(transactional_db, capsys, settings):
    settings.SMSPORTAL_ALLOW_PRIVATE_URLS = False  # production rules, as the pages describe them
    call_command("seed_demo")
    return capsys.readouterr().out.strip().splitlines()[-1].split(": ")[1]


@pytest.mark.parametrize("example", examples(), ids=lambda e: e.where)
def test_every_documented_example_answers_as_documented(example, live_server, demo_key):
    status, answer = _send(live_server.url, example, demo_key)

    assert status == example.status, f"{example.where}: {status} {answer}"
    problems = matches(example.answer, answer) if example.answer is not None else []
    assert not problems, f"{example.where}: " + "; ".join(problems)
