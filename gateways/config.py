"""Validation of a gateway's configuration, shared by the API and the admin.

What each type accepts is declared by its adapter (`config_spec`); the cross-field rules are here.
Field names are DHIS2's gateway JSON names. A field listed in `secrets` is stored encrypted in
`Gateway.secrets` and never returned: reads show `MASK` when it is set; an update where it is
absent, blank or equal to `MASK` keeps the stored value. Generic HTTP parameters marked
`confidential` (or the seed's `classified`) follow the same rule per parameter key.
"""

import re
from functools import lru_cache
from typing import Any

from gateways.models import Gateway
from gateways.providers import ADAPTERS
from gateways.providers.settings import ProviderSettings
from gateways.urlsafety import UnsafeUrlError, aws_endpoint_check, url_check

MASK = "********"
T = Gateway.Type
CONTENT_TYPES = ("FORM_URL_ENCODED", "APPLICATION_JSON", "APPLICATION_XML", "TEXT_PLAIN")
SNS_SERVICES = ("sns", "pinpoint-sms-voice-v2")
HTTP_METHODS = ("GET", "POST", "PUT")
PLACEHOLDER = re.compile(r"\$\{([^}]*)\}")
# Typed routes of the seed (/api/gateways/<route>) → gateway type.
TYPE_ROUTES = {
    "clickatell": T.CLICKATELL,
    "bulksms": T.BULKSMS,
    "generichttp": T.HTTP,
    "http": T.HTTP,
    "twilio": T.TWILIO,
    "sns": T.SNS,
    "simulator": T.SIMULATOR,
    "chtgateway": T.CHT_GATEWAY,
}
# DHIS2 type names (and ours) accepted in `type`.
TYPE_NAMES = {t.value: t.value for t in T} | {
    "generichttp": T.HTTP,
    "generic_http": T.HTTP,
    "chtgateway": T.CHT_GATEWAY,
    "medic-gateway": T.CHT_GATEWAY,
}


class ConfigError(ValueError):
    """A gateway configuration problem, naming the field."""

    def __init__(self, message: str, *, field: str, errors: list[tuple[str, str]] | None = None):
        super().__init__(message)
        self.field = field
        self.errors = errors or [(field, message)]  # every (field, message) found, first = `field`


# What each type accepts, as its adapter declares it (gateways/providers/settings.py).
SPECS: dict[str, ProviderSettings] = {type_: adapter.config_spec for type_, adapter in ADAPTERS.items()}


def type_from_name(value: Any) -> str:
    name = str(value or "").strip().lower()
    if not name:
        raise ConfigError("type is required: one of " + ", ".join(t.value for t in T), field="type")
    if name not in TYPE_NAMES:
        raise ConfigError(f"unknown gateway type {value!r}: one of " + ", ".join(t.value for t in T), field="type")
    return TYPE_NAMES[name]


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
    for placeholder in PLACEHOLDER.findall(value):
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", placeholder):
            raise ConfigError(f"{name} has a malformed placeholder ${{{placeholder}}}", field=name)
    if value.count("${") != len(PLACEHOLDER.findall(value)):
        raise ConfigError(f"{name} has an unclosed placeholder", field=name)
    probe = PLACEHOLDER.sub("x", value)
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
    for n, item in enumerate(value):
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
    return params, secrets


def config_validate(
    *, type_: str, data: dict, gateway: Gateway | None = None, resolve: bool = True
) -> tuple[dict, dict]:
    """Validate the type-specific part of `data` → (config, secrets) to store.

    With `gateway` (an update), absent fields keep their stored values, and absent, blank or
    masked secrets keep the stored secrets. Unknown keys are ignored (DHIS2 clients send extras).
    Every problem is reported at once: the ConfigError raised names the first field and carries
    all of them in `errors`.
    """
    spec = SPECS[type_]
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
    for rule in TYPE_RULES.get(type_, ()):
        check(rule, config, secrets, failed)
    failed = {e.field.split("[", 1)[0].split(".", 1)[0] for e in errors}
    for name in spec.required:
        if name not in failed and not (config.get(name) if name in spec.fields else secrets.get(name)):
            errors.append(ConfigError(f"{name} is required", field=name))
    if errors:
        raise ConfigError(str(errors[0]), field=errors[0].field, errors=[(e.field, str(e)) for e in errors])
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


# -- per-type rules: (config, secrets, fields that already failed) → raise ConfigError -------------

# Placeholders the generic HTTP adapter fills in (besides the parameter keys).
HTTP_PLACEHOLDERS = ("text", "recipients", "recipients_no_plus", "id", "from")


def _http_content_type(config: dict, secrets: dict, failed: set) -> None:
    content_type = str(config.get("contentType") or "FORM_URL_ENCODED").upper()
    if content_type not in CONTENT_TYPES:
        raise ConfigError("contentType must be one of " + ", ".join(CONTENT_TYPES), field="contentType")
    config["contentType"] = content_type


def _http_method(config: dict, secrets: dict, failed: set) -> None:
    method = str(config.get("method") or "POST").upper()
    if method not in HTTP_METHODS:
        raise ConfigError("method must be " + ", ".join(HTTP_METHODS[:-1]) + " or " + HTTP_METHODS[-1], field="method")
    if config.get("method"):
        config["method"] = method


def _http_placeholders(config: dict, secrets: dict, failed: set) -> None:
    """Every ${...} in the templates must be one the adapter fills in: a typo would be sent verbatim."""
    keys = [str(p.get("key")) for p in config.get("parameters") or [] if isinstance(p, dict)]
    known = set(HTTP_PLACEHOLDERS) | set(keys)
    for name in ("configurationTemplate", "urlTemplate"):
        template = str(config.get(name) or "")
        if name in failed or not template:
            continue
        found = PLACEHOLDER.findall(template)
        if template.count("${") != len(found) or any(not re.fullmatch(r"[A-Za-z0-9_.-]+", p) for p in found):
            raise ConfigError(f"{name} has a malformed ${{...}} placeholder", field=name)
        unknown = [p for p in dict.fromkeys(found) if p not in known]
        if unknown:
            raise ConfigError(
                f"{name} has unknown placeholder(s) "
                + ", ".join(f"${{{p}}}" for p in unknown)
                + ": use "
                + ", ".join(f"${{{p}}}" for p in HTTP_PLACEHOLDERS)
                + " or a parameter key",
                field=name,
            )


def _sns_service(config: dict, secrets: dict, failed: set) -> None:
    if config.get("service", "sns") not in SNS_SERVICES:
        raise ConfigError("service must be one of " + ", ".join(SNS_SERVICES), field="service")


@lru_cache(maxsize=8)
def aws_regions(service: str) -> frozenset[str]:
    """The regions botocore knows for `service`, in every partition (from its bundled endpoint data)."""
    import boto3

    session = boto3.session.Session()
    return frozenset(
        region
        for partition in session.get_available_partitions()
        for region in session.get_available_regions(service, partition_name=partition)
    )


def _sns_region(config: dict, secrets: dict, failed: set) -> None:
    region, service = config.get("region"), config.get("service", "sns")
    if not region or "service" in failed or service not in SNS_SERVICES:
        return
    known = aws_regions(service)
    if known and region not in known:
        raise ConfigError(
            f"region {region!r} is not an AWS region of {service}: e.g. " + ", ".join(sorted(known)[:5]) + ", …",
            field="region",
        )


def _sns_endpoint(config: dict, secrets: dict, failed: set) -> None:
    if config.get("endpointUrl") and "endpointUrl" not in failed:
        try:
            aws_endpoint_check(str(config["endpointUrl"]))
        except UnsafeUrlError as exc:
            raise ConfigError(f"endpointUrl: {exc}", field="endpointUrl")


# Twilio: "from" is an E.164 number or an alphanumeric sender id (1-11 letters, digits, spaces; a letter).
E164 = re.compile(r"\+[1-9]\d{1,14}")
ALPHANUMERIC_SENDER = re.compile(r"(?=.*[A-Za-z])[A-Za-z0-9 ]{1,11}")


def _twilio_from(config: dict, secrets: dict, failed: set) -> None:
    sender = config.get("from")
    if "from" in failed:
        return
    if not (sender or config.get("messagingServiceSid")):
        raise ConfigError("from or messagingServiceSid is required", field="from")
    if sender and not (E164.fullmatch(sender) or ALPHANUMERIC_SENDER.fullmatch(sender)):
        raise ConfigError(
            "from must be an E.164 number (+ and country code, e.g. +12025550100) or an alphanumeric sender id "
            "of at most 11 letters, digits and spaces with at least one letter",
            field="from",
        )


def _clickatell_key(config: dict, secrets: dict, failed: set) -> None:
    if not (secrets.get("authToken") or secrets.get("password")):
        raise ConfigError("authToken (the Clickatell API key) is required", field="authToken")


TYPE_RULES = {
    T.HTTP: (_http_content_type, _http_placeholders, _http_method),
    T.SNS: (_sns_service, _sns_region, _sns_endpoint),
    T.TWILIO: (_twilio_from,),
    T.CLICKATELL: (_clickatell_key,),
}


def config_representation(gateway: Gateway) -> dict:
    """The type-specific fields for reading: config as stored, secrets masked."""
    spec = SPECS.get(gateway.type, ProviderSettings())
    out: dict[str, Any] = {}
    for name in spec.fields:
        if name in gateway.config:
            out[name] = gateway.config[name]
    if "parameters" in out:
        out["parameters"] = [
            {**p, "value": MASK} if p.get("confidential") else dict(p) for p in gateway.config.get("parameters") or []
        ]
    for name in spec.secrets:
        if gateway.secrets.get(name):
            out[name] = MASK
    return out
