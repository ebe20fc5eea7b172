"""A shields-style SVG badge for the readiness score (pure rendering)."""

from __future__ import annotations

from xml.sax.saxutils import escape

GREEN = "#4c1"
AMBER = "#dfb317"
RED = "#e05d44"
GREY = "#555"

# Approximate advance widths of Verdana 11px, the shields.io font, for a tidy fit.
_NARROW = set("fijlrt1.,:;|!'() ")
_WIDE = set("mwMW%@")


def text_width(text: str) -> int:
    """An estimate of *text*'s width in pixels at Verdana 11px."""
    width = 0.0
    for char in text:
        if char in _NARROW:
            width += 4.0
        elif char in _WIDE:
            width += 10.0
        elif char.isupper() or char.isdigit():
            width += 7.5
        else:
            width += 6.5
    return round(width)


def colour(score: float, threshold: float) -> str:
    """Green at or above the threshold, amber within 10 points below it, red further down."""
    if score >= threshold:
        return GREEN
    if score >= threshold - 10:
        return AMBER
    return RED


def render(score: float, threshold: float, label: str = "readiness") -> str:
    """The badge SVG for *score* (percent) against *threshold*; byte-stable for equal input."""
    message = f"{score:.1f}%"
    left = text_width(label) + 10
    right = text_width(message) + 10
    total = left + right
    fill = colour(score, threshold)
    label_x, message_x = left * 5, (left + right / 2) * 10
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{total}" height="20" role="img" '
        f'aria-label="{escape(label)}: {escape(message)}">'
        f"<title>{escape(label)}: {escape(message)}</title>"
        '<linearGradient id="s" x2="0" y2="100%">'
        '<stop offset="0" stop-color="#bbb" stop-opacity=".1"/>'
        '<stop offset="1" stop-opacity=".1"/></linearGradient>'
        f'<clipPath id="r"><rect width="{total}" height="20" rx="3" fill="#fff"/></clipPath>'
        '<g clip-path="url(#r)">'
        f'<rect width="{left}" height="20" fill="{GREY}"/>'
        f'<rect x="{left}" width="{right}" height="20" fill="{fill}"/>'
        f'<rect width="{total}" height="20" fill="url(#s)"/></g>'
        '<g fill="#fff" text-anchor="middle" '
        'font-family="Verdana,Geneva,DejaVu Sans,sans-serif" font-size="110">'
        f'<text x="{label_x:g}" y="140" transform="scale(.1)">{escape(label)}</text>'
        f'<text x="{message_x:g}" y="140" transform="scale(.1)">{escape(message)}</text>'
        "</g></svg>\n"
    )
