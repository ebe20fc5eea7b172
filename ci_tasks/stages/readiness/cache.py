"""``.release-readiness-cache.json``: the last result, a bounded score history, API data.

Versioned; written atomically; an unreadable or foreign file is set aside (with a
warning) and rebuilt, never trusted.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from ci_tasks.core import reports
from ci_tasks.core.actions import Output
from ci_tasks.stages.readiness.model import Result

CACHE_FILE = ".release-readiness-cache.json"
SCHEMA = "ci-tasks/readiness-cache"
VERSION = 1
HISTORY_LIMIT = 100


@dataclasses.dataclass(frozen=True)
class Cache:
    """What the cache holds."""

    last: dict[str, Any] | None = None
    history: tuple[dict[str, Any], ...] = ()
    api: dict[str, Any] = dataclasses.field(default_factory=dict)


def load(root: Path, output: Output | None = None) -> Cache:
    """The cache of the project in *root*; an empty one when missing or unusable."""
    path = root / CACHE_FILE
    data = reports.read_json(path, output)
    if data is None:
        return Cache()
    if not isinstance(data, dict) or data.get("schema") != SCHEMA or data.get("version") != VERSION:
        reports.set_aside(path, f"not a version {VERSION} {SCHEMA} file", output)
        return Cache()
    history = data.get("history")
    api = data.get("api")
    last = data.get("last")
    return Cache(
        last=last if isinstance(last, dict) else None,
        history=tuple(h for h in history if isinstance(h, dict))
        if isinstance(history, list)
        else (),
        api=api if isinstance(api, dict) else {},
    )


def result_record(result: Result) -> dict[str, Any]:
    """*result* as plain JSON data (what ``last`` holds)."""
    return {
        "score": round(result.score, 2),
        "threshold": result.threshold,
        "passed": result.passed,
        "commit": result.commit,
        "as_of": result.as_of,
        "checks": [
            {
                "id": c.id,
                "title": c.title,
                "status": c.status.value,
                "weight": c.weight,
                "summary": c.summary,
                "evidence": list(c.evidence),
                "source": c.source,
                "origin": c.origin,
            }
            for c in result.checks
        ],
        "accepted": [a.as_dict() for a in result.accepted],
    }


def updated(cache: Cache, result: Result, api: dict[str, Any], generated_at: str) -> Cache:
    """*cache* after *result*: history grows by one entry (bounded), API data replaced.

    A rerun with the same commit and evidence keeps the newest entry as it was (its
    time included) instead of adding one, so the history tracks changes rather than
    invocations and an unchanged run rewrites the cache byte for byte.
    """
    entry = {
        "score": round(result.score, 2),
        "commit": result.commit,
        "as_of": result.as_of,
        "generated_at": generated_at,
    }
    history = list(cache.history)
    if not history or any(history[-1].get(k) != entry[k] for k in ("score", "commit", "as_of")):
        history.append(entry)
    return Cache(
        last=result_record(result), history=tuple(history[-HISTORY_LIMIT:]), api=api or cache.api
    )


def save(root: Path, cache: Cache) -> Path:
    """Write *cache* atomically; returns its path."""
    path = root / CACHE_FILE
    reports.write_json(
        path,
        {
            "schema": SCHEMA,
            "version": VERSION,
            "last": cache.last,
            "history": list(cache.history),
            "api": cache.api,
        },
    )
    return path
