"""pytest's exit codes, and the one a run made of several pytest processes ends with."""

from __future__ import annotations

import enum
from collections.abc import Sequence


class ExitCode(enum.IntEnum):
    """pytest's exit codes (``pytest.ExitCode``), named here to avoid importing pytest."""

    OK = 0
    TESTS_FAILED = 1
    INTERRUPTED = 2
    INTERNAL_ERROR = 3
    USAGE_ERROR = 4
    NO_TESTS_COLLECTED = 5


# By how much each says about a whole run made of parts: a usage or internal error
# anywhere outweighs failed tests; "no tests" counts only if no part ran any.
_SEVERITY = (
    ExitCode.USAGE_ERROR,
    ExitCode.INTERNAL_ERROR,
    ExitCode.INTERRUPTED,
    ExitCode.TESTS_FAILED,
    ExitCode.OK,
    ExitCode.NO_TESTS_COLLECTED,
)


def combined_exit_code(codes: Sequence[int]) -> int:
    """The exit code of a run made of pytest processes with exit codes *codes* (pure)."""
    known = [c for c in codes if c in _SEVERITY]
    if len(known) != len(codes):
        return max(c for c in codes if c not in _SEVERITY)  # a crash or a signal
    return min(known, key=_SEVERITY.index)
