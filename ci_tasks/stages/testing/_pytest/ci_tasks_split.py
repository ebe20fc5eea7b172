"""Splitting a test suite into shards by recorded durations (standard library only).

The recorder plugin imports this inside the project's test environment, and the tests
stage imports it too; so it imports nothing but the standard library. Every shard of a
suite run computes the same split from the same node ids and durations, so each test
runs in exactly one shard.
"""

# This folder is a sys.path entry of the test environment, not a package: no __init__.py.
# ruff: noqa: INP001

from __future__ import annotations

import heapq
import statistics
from collections.abc import Iterable, Mapping

DEFAULT_SECONDS = 1.0
"""What a test costs when nothing is recorded for any test (the split is then by count)."""


def split(nodeids: Iterable[str], durations: Mapping[str, float], shards: int) -> list[list[str]]:
    """*nodeids* in *shards* groups of about equal recorded duration (deterministic).

    Longest first, each test to the shard with the least work so far (ties: the lower
    shard). A test without a record counts as the median of the recorded ones, so with no
    records at all the split is by count. Each group keeps the collection order.
    """
    order = list(dict.fromkeys(nodeids))
    known = [float(durations[n]) for n in order if n in durations]
    default = statistics.median(known) if known else DEFAULT_SECONDS

    def cost(nodeid: str) -> float:
        return float(durations.get(nodeid, default))

    loads = [(0.0, shard) for shard in range(shards)]
    chosen: dict[str, int] = {}
    for nodeid in sorted(order, key=lambda n: (-cost(n), n)):
        load, shard = heapq.heappop(loads)
        chosen[nodeid] = shard
        heapq.heappush(loads, (load + cost(nodeid), shard))
    return [[n for n in order if chosen[n] == shard] for shard in range(shards)]


def parse_shard(text: str) -> tuple[int, int]:
    """``"2/3"`` as ``(2, 3)``; ValueError unless ``1 <= k <= n``."""
    index, _, total = text.partition("/")
    k, n = int(index), int(total)
    if not 1 <= k <= n:
        msg = f"shard {text!r} is not k/n with 1 <= k <= n"
        raise ValueError(msg)
    return k, n
