"""SMS text rules: GSM 03.38 vs UCS-2 detection and segment counting."""

from dataclasses import dataclass

# GSM 03.38 basic character set (one septet each).
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# Extension table: escape + character, two septets each, never split across parts.
GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")


@dataclass(frozen=True)
class TextInfo:
    encoding: str  # "GSM-7" or "UCS-2"
    segments: int
    units: int  # septets (GSM-7) or UTF-16 code units (UCS-2)


def text_info(text: str) -> TextInfo:
    """Encoding and segment count: 160/153 septets for GSM-7, 70/67 UTF-16 units for UCS-2."""
    if all(c in GSM7_BASIC or c in GSM7_EXTENSION for c in text):
        units = [2 if c in GSM7_EXTENSION else 1 for c in text]
        return TextInfo("GSM-7", _segments(units, single=160, multi=153), sum(units))
    units = [2 if ord(c) > 0xFFFF else 1 for c in text]
    return TextInfo("UCS-2", _segments(units, single=70, multi=67), sum(units))


def _segments(units: list[int], *, single: int, multi: int) -> int:
    total = sum(units)
    if total <= single:
        return 1
    # Fill parts greedily; a two-unit character (escape pair, surrogate pair) never straddles parts.
    parts, used = 1, 0
    for size in units:
        if used + size > multi:
            parts, used = parts + 1, 0
        used += size
    return parts
