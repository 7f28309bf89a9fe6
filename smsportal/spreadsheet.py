"""Spreadsheet (CSV/XLSX) cells that never run as formulas (CSV injection), shared by every export.

A text starting with =, +, -, @, a tab or a carriage return is what Excel, LibreOffice and Sheets
evaluate; it is written with a leading apostrophe, which they show as text. A signed number
(a phone number such as +12025550101) cannot call anything and is left as it is.
"""

import re

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
SIGNED_NUMBER = re.compile(r"[+-]?\d[\d .]*")


def spreadsheet_cell(value):
    """`value` as a spreadsheet shows it as text; non-strings unchanged."""
    if not isinstance(value, str) or not value.startswith(FORMULA_STARTS) or SIGNED_NUMBER.fullmatch(value):
        return value
    return "'" + value


def spreadsheet_value(value):
    """The inverse on import: a cell our export escaped reads back as the original text."""
    if isinstance(value, str) and value[:1] == "'" and value[1:].startswith(FORMULA_STARTS):
        return value[1:]
    return value
