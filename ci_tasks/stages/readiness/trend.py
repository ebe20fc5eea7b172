"""The readiness trend: a mermaid line chart for GitHub markdown and a terminal sparkline."""

from __future__ import annotations

from collections.abc import Sequence

_BARS = "▁▂▃▄▅▆▇█"


def sparkline(scores: Sequence[float]) -> str:
    """One block character per score on a fixed 0-100 scale (so runs compare across time)."""
    out = []
    for score in scores:
        clamped = min(max(score, 0.0), 100.0)
        out.append(_BARS[min(int(clamped / 100 * len(_BARS)), len(_BARS) - 1)])
    return "".join(out)


def mermaid(points: Sequence[tuple[str, float]], threshold: float | None = None) -> str:
    """A fenced mermaid ``xychart-beta`` block of *points* (label, score %); empty if none.

    GitHub renders it as a line chart; the threshold, when given, is a second, flat line.
    """
    if not points:
        return ""
    labels = ", ".join(f'"{label}"' for label, _ in points)
    values = ", ".join(f"{score:.1f}" for _, score in points)
    lines = [
        "```mermaid",
        "xychart-beta",
        '    title "Release readiness (%)"',
        f"    x-axis [{labels}]",
        '    y-axis "score" 0 --> 100',
        f"    line [{values}]",
    ]
    if threshold is not None:
        lines.append(f"    line [{', '.join(f'{threshold:.1f}' for _ in points)}]")
    lines.append("```")
    return "\n".join(lines) + "\n"
