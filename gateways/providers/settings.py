"""How an adapter describes its settings: the one declaration the API validation and the admin form read.

Each adapter class sets `config_spec = ProviderSettings(...)`. gateways.config derives what a
gateway type accepts from it (field kinds, secrets, required fields, URLs to check, cross-field rules) and
gateways.forms builds the admin form from it (labels, help text, dropdowns, sections), so a new
provider brings its form with it. Names are DHIS2's gateway JSON names.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# Value kinds: "str", "text" (multi-line string), "url", "bool", "int", "list" (of strings),
# "dict" (string → string) and "parameters" (the generic HTTP gateway's parameter list).
KINDS = ("str", "text", "url", "bool", "int", "list", "dict", "parameters")
# A `${...}` placeholder of a URL or body template, well-formed or not (the checks say which).
TEMPLATE_PLACEHOLDER = re.compile(r"\$\{([^}]*)\}")

# A cross-field rule: (config, secrets, names of fields that already failed) → raise
# gateways.exceptions.ConfigError naming the field; it may normalise `config` in place.
Rule = Callable[[dict, dict, set], None]


@dataclass(frozen=True)
class Setting:
    """One configuration field of a provider."""

    name: str
    label: str
    help: str = ""
    kind: str = "str"
    secret: bool = False  # stored encrypted, write-only
    required: bool = False
    section: str = ""  # the form fieldset; "" = the provider's main section
    choices: tuple[tuple[str, str], ...] = ()  # ("" = the provider's default)
    default: Any = None  # initial value of a new gateway's form
    # False: accepted through the API for DHIS2 clients, but not used by this provider, so not in the form.
    shown: bool = True

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"{self.name}: unknown kind {self.kind!r}")


@dataclass(frozen=True)
class ProviderSettings:
    """Everything a provider is configured with, in form order."""

    settings: tuple[Setting, ...] = ()
    description: str = ""  # shown above the form: what this provider is and where its settings come from
    # Where the inbound and status webhook URLs go in the provider's console ("" = it has no webhooks).
    webhooks_hint: str = ""
    rules: tuple[Rule, ...] = ()  # checked by gateways.config after every field is read

    @property
    def fields(self) -> dict[str, str]:
        """Non-secret field name → kind."""
        return {s.name: s.kind for s in self.settings if not s.secret}

    @property
    def secrets(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.settings if s.secret)

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.settings if s.required)

    @property
    def urls(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.settings if s.kind == "url")

    def shown(self) -> list[Setting]:
        return [s for s in self.settings if s.shown]

    def sections(self) -> dict[str, list[Setting]]:
        """Section title ("" = main) → the shown settings in it, in declaration order."""
        out: dict[str, list[Setting]] = {}
        for setting in self.shown():
            out.setdefault(setting.section, []).append(setting)
        return out


# Shared declarations (the same meaning for every provider that uses them).
URL_TEMPLATE_HELP = (
    "Leave empty for {provider}'s real API ({url}). Set it only for a test stand-in; private addresses are refused."
)


def url_template(provider: str, url: str, **kwargs) -> Setting:
    """The optional API URL override every HTTP provider has (DHIS2's urlTemplate)."""
    return Setting(
        "urlTemplate",
        "API URL",
        URL_TEMPLATE_HELP.format(provider=provider, url=url),
        kind="url",
        section="Advanced",
        **kwargs,
    )


def unused(name: str, kind: str = "str", *, secret: bool = False) -> Setting:
    """A DHIS2 field the provider ignores: accepted through the API, never in the form."""
    return Setting(name, name, kind=kind, secret=secret, shown=False)
