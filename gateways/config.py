"""Validation of a gateway's configuration, shared by the API and the admin.

What each type accepts is declared by its adapter (`config_spec`, with its cross-field `rules`).
Field names are DHIS2's gateway JSON names. A field listed in `secrets` is stored encrypted in
`Gateway.secrets` and never returned: reads show `MASK` when it is set; an update where it is
absent, blank or equal to `MASK` keeps the stored value. Generic HTTP parameters marked
`confidential` (or the seed's `classified`) follow the same rule per parameter key.
"""

import re
from typing import Any

from gateways.exceptions import ConfigError
from gateways.models import Gateway
from gateways.providers import ADAPTERS, type_for_name
from gateways.providers.settings import TEMPLATE_PLACEHOLDER, ProviderSettings
from gateways.urlsafety import UnsafeUrlError, url_check

MASK = "********"


def spec_for(type_: str) -> ProviderSettings:
    """What a gateway type accepts, as its adapter declares it (gateways/providers/settings.py)."""
    adapter = ADAPTERS.get(type_)
    return adapter.config_spec if adapter else ProviderSettings()


def type_from_name(value: Any) -> str:
    """The gateway type a DHIS2 `type` value names (ours, a typed route or an alias)."""
    name = str(value or "").strip().lower()
    type_ = type_for_name(name) if name else None
    if type_ is None:
        known = ", ".join(ADAPTERS)
        problem = f"unknown gateway type {value!r}" if name else "type is required"
        raise ConfigError(f"{problem}: one of {known}", field="type")
    return type_


def as_bool(value: Any, name: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false", "1", "0", ""):
        return value.strip().lower() in ("true", "1")
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    raise ConfigError(f"{name} must be true or false", field=name)


def as_str(value: Any, name: str, *, max_length: int = 2000) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ConfigError(f"{name} must be a string", field=name)
    text = str(value)
    if "\x00" in text or len(text) > max_length:
        raise ConfigError(f"{name} must be a string of at most {max_length} characters", field=name)
    return text


def url_template_check(value: str, name: str, *, resolve: bool = True) -> None:
    """A URL template must be an http(s) URL to a public host once its placeholders are filled in."""
    for placeholder in TEMPLATE_PLACEHOLDER.findall(value):
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", placeholder):
            raise ConfigError(f"{name} has a malformed placeholder ${{{placeholder}}}", field=name)
    if value.count("${") != len(TEMPLATE_PLACEHOLDER.findall(value)):
        raise ConfigError(f"{name} has an unclosed placeholder", field=name)
    probe = TEMPLATE_PLACEHOLDER.sub("x", value)
    try:
        url_check(probe, resolve=resolve)
    except UnsafeUrlError as exc:
        raise ConfigError(f"{name}: {exc}", field=name)


def is_masked(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip() in ("", MASK))


def _parameters(value: Any, stored_secrets: dict) -> tuple[list[dict], dict[str, str]]:
    """(parameters without confidential values, confidential values by key)."""
    if not isinstance(value, list):
        raise ConfigError("parameters must be a list of {key, value, header, encode, confidential}", field="parameters")
    previous = stored_secrets.get("parameters") or {}
    params, secrets = [], {}
    problems: list[ConfigError] = []
    for n, item in enumerate(value):
        try:
            _parameter_read(n, item, previous, params, secrets)
        except ConfigError as exc:
            problems.append(exc)  # every bad parameter is reported, not only the first
    if problems:
        raise ConfigError.combined(problems)
    return params, secrets


def _parameter_read(n: int, item: Any, previous: dict, params: list, secrets: dict) -> None:
    where = f"parameters[{n}]"
    if not isinstance(item, dict):
        raise ConfigError(f"{where} must be an object", field=where)
    key = as_str(item.get("key", ""), f"{where}.key", max_length=200).strip()
    if not key:
        raise ConfigError(f"{where}.key is required", field=f"{where}.key")
    confidential = as_bool(item.get("confidential", item.get("classified", False)), f"{where}.confidential")
    entry = {
        "key": key,
        "header": as_bool(item.get("header", False), f"{where}.header"),
        "encode": as_bool(item.get("encode", False), f"{where}.encode"),
        "confidential": confidential,
    }
    raw = item.get("value", "")
    if confidential:
        if is_masked(raw):
            if key not in previous:
                raise ConfigError(f"{where}.value is required for a new confidential parameter", field=where)
            secrets[key] = previous[key]
        else:
            secrets[key] = as_str(raw, f"{where}.value")
    else:
        entry["value"] = as_str(raw if raw is not None else "", f"{where}.value")
    params.append(entry)


def config_validate(
    *, type_: str, data: dict, gateway: Gateway | None = None, resolve: bool = True
) -> tuple[dict, dict]:
    """Validate the type-specific part of `data` → (config, secrets) to store.

    With `gateway` (an update), absent fields keep their stored values, and absent, blank or
    masked secrets keep the stored secrets. Unknown keys are ignored (DHIS2 clients send extras).
    Every problem is reported at once: the ConfigError raised names the first field and carries
    all of them in `errors`.
    """
    spec = spec_for(type_)
    config = dict(gateway.config) if gateway else {}
    stored = dict(gateway.secrets) if gateway else {}
    secrets = {k: v for k, v in stored.items() if k == "webhookTokens" or k in spec.secrets or k == "parameters"}
    errors: list[ConfigError] = []

    def check(fn, *args, **kwargs) -> None:
        try:
            fn(*args, **kwargs)
        except ConfigError as exc:
            errors.append(exc)

    for name, kind in spec.fields.items():
        if name in data:
            check(_field_set, config, secrets, stored, name, kind, data[name])
    for name in spec.secrets:
        if name in data and not is_masked(data[name]):
            check(lambda n: secrets.__setitem__(n, as_str(data[n], n)), name)
    for name in spec.urls:
        if config.get(name):
            check(url_template_check, config[name], name, resolve=resolve)
    failed = {e.field.split("[", 1)[0].split(".", 1)[0] for e in errors}
    for rule in spec.rules:
        check(rule, config, secrets, failed)
    failed = {e.field.split("[", 1)[0].split(".", 1)[0] for e in errors}
    for name in spec.required:
        if name not in failed and not (config.get(name) if name in spec.fields else secrets.get(name)):
            errors.append(ConfigError(f"{name} is required", field=name))
    if errors:
        raise ConfigError.combined(errors)
    return config, secrets


def _field_set(config: dict, secrets: dict, stored: dict, name: str, kind: str, value: Any) -> None:
    if value is None:
        config.pop(name, None)
    elif kind == "bool":
        config[name] = as_bool(value, name)
    elif kind == "int":
        try:
            config[name] = int(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{name} must be a whole number", field=name)
    elif kind == "list":
        items = value.split(",") if isinstance(value, str) else value
        if not isinstance(items, list):
            raise ConfigError(f"{name} must be a list of strings", field=name)
        config[name] = [as_str(i, name).strip() for i in items if str(i).strip()]
    elif kind == "dict":
        if not isinstance(value, dict):
            raise ConfigError(f"{name} must be an object", field=name)
        config[name] = {as_str(k, name): as_str(v, name) for k, v in value.items()}
    elif kind == "parameters":
        config[name], secrets["parameters"] = _parameters(value, stored)
    else:
        text = as_str(value, name).strip()
        if text:
            config[name] = text
        else:
            config.pop(name, None)


def _read_default(type_: str, name: str, kind: str):
    """What an unset field means, as a read shows it: false, no parameters, the provider's own URL."""
    if kind == "bool":
        return False
    if kind == "parameters":
        return []
    if name == "urlTemplate":
        return getattr(ADAPTERS.get(type_), "default_url", "") or None
    return None


def config_representation(gateway: Gateway) -> dict:
    """The type-specific fields for reading: config as stored, secrets masked."""
    spec = spec_for(gateway.type)
    out: dict[str, Any] = {}
    for name, kind in spec.fields.items():
        if name in gateway.config:
            out[name] = gateway.config[name]
        elif (default := _read_default(gateway.type, name, kind)) is not None:
            # A DHIS2 client echoes a read back on update: every field DHIS2 documents is there.
            out[name] = default
    if "parameters" in out:
        out["parameters"] = [
            {**p, "value": MASK} if p.get("confidential") else dict(p) for p in gateway.config.get("parameters") or []
        ]
    for name in spec.secrets:
        if gateway.secrets.get(name):
            out[name] = MASK
    return out
