"""DRF parsers that refuse hostile input (smsportal/input_safety.py) as a 400 naming the field."""

import codecs

from rest_framework import exceptions, parsers
from rest_framework.settings import api_settings
from rest_framework.utils import json

from smsportal.input_safety import MAX_JSON_DEPTH, HostileInput, check_pairs, check_value


class HostileInputError(exceptions.ParseError):
    """A parse error that names the field at fault (smsportal.exceptions renders it)."""

    def __init__(self, exc: HostileInput):
        super().__init__(detail=str(exc), code="invalid_input")
        self.field = exc.field


class SafeJSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        encoding = parsers.get_encoding(parser_context or {})
        try:
            data = json.load(
                codecs.getreader(encoding)(stream),
                parse_constant=json.strict_constant if api_settings.STRICT_JSON else None,
            )
            check_value(data)
        except RecursionError:
            raise HostileInputError(HostileInput("body", f"JSON nested deeper than {MAX_JSON_DEPTH} levels"))
        except HostileInput as exc:
            raise HostileInputError(exc)
        except ValueError as exc:
            raise exceptions.ParseError(f"JSON parse error - {exc}")
        return data


class SafeFormParser(parsers.FormParser):
    def parse(self, stream, media_type=None, parser_context=None):
        data = super().parse(stream, media_type, parser_context)
        try:
            check_pairs(data.lists())
        except HostileInput as exc:
            raise HostileInputError(exc)
        return data


class SafeMultiPartParser(parsers.MultiPartParser):
    def parse(self, stream, media_type=None, parser_context=None):
        parsed = super().parse(stream, media_type, parser_context)
        try:
            check_pairs(parsed.data.lists())
        except HostileInput as exc:
            raise HostileInputError(exc)
        return parsed
