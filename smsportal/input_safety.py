"""Hostile input refused at the edge, as a 4xx naming the field, before it reaches a parser's
recursion, a view or PostgreSQL.

PostgreSQL stores no NUL character in text (DataError), and a lone UTF-16 surrogate ("\\ud800",
valid JSON) cannot be encoded to UTF-8 (UnicodeEncodeError); deeply nested JSON makes the
decoder, or any code that walks the result, raise RecursionError. Each of these was a 500.
"""

import json
from typing import Any

MAX_JSON_DEPTH = 32  # no API body or provider webhook nests deeper than a handful of levels


class HostileInput(ValueError):
    """Input no view should see; `field` names where it is ("body" for the body as a whole)."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field or "body"
        self.message = message


def text_problem(text: str) -> str | None:
    """Why a string cannot be stored, or None."""
    if "\x00" in text:
        return "contains a NUL character"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "contains an unpaired UTF-16 surrogate (not valid Unicode text)"
    return None


def _child(path: str, key) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else str(key)


def check_value(value: Any, field: str = "") -> None:
    """Raise HostileInput for the first string (key or value) that cannot be stored, or when the
    structure nests deeper than MAX_JSON_DEPTH. Iterative: a deep structure cannot recurse here."""
    stack = [(value, field, 0)]
    while stack:
        current, path, depth = stack.pop()
        if isinstance(current, str):
            if (problem := text_problem(current)) is not None:
                raise HostileInput(path, problem)
            continue
        if not isinstance(current, dict | list):
            continue
        if depth >= MAX_JSON_DEPTH:  # the request as a whole, as deeper JSON is (the path would be noise)
            raise HostileInput(field or "body", f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
        items = current.items() if isinstance(current, dict) else enumerate(current)
        for key, item in items:
            if isinstance(key, str) and (problem := text_problem(key)) is not None:
                raise HostileInput(_child(path, "<key>"), f"a key {problem}")
            stack.append((item, _child(path, key), depth + 1))


def json_loads(raw: bytes | str) -> Any:
    """Decode JSON and check it (check_value); ValueError when it is not JSON at all."""
    try:
        data = json.loads(raw)
    except RecursionError:
        raise HostileInput("body", f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
    check_value(data)
    return data


def check_pairs(pairs, kind: str = "") -> None:
    """Query-string or form fields (a QueryDict's lists()): names and values must be storable."""
    for name, values in pairs:
        if (problem := text_problem(name)) is not None:
            raise HostileInput(kind or "body", f"a parameter name {problem}")
        for value in values:
            if isinstance(value, str) and (problem := text_problem(value)) is not None:
                raise HostileInput(name, problem)
