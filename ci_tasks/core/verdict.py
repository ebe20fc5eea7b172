"""A stage's verdict: one :class:`Status`, and the exit code and words it has, in one place.

A stage passes by returning (``None``, or :func:`unverified` when it could not look but
must not block), and fails by raising a :class:`~ci_tasks.core.errors.CITasksError`;
:func:`ci_tasks.core.stage.judge` turns either into a :class:`Verdict`. Everything
that shows or combines verdicts (the verdict line, preflight's summary, a report's
``verdict``) reads them from here, as nox maps its outcomes to its own ``Status``.
"""

from __future__ import annotations

import dataclasses
import enum

from ci_tasks.core.errors import EXIT_ERROR, EXIT_FINDINGS, EXIT_OK, EXIT_SIGINT

__all__ = ["Status", "Verdict", "tempered", "unverified"]


class Status(enum.Enum):
    """How a stage ended; the value is the word reports and summaries use."""

    PASSED = "passed"
    UNVERIFIED = "unverified"
    """It passed without being able to look (security offline): exits 0, never reads as
    a plain pass."""
    FAILED = "failed"
    ERROR = "could not run"
    """Bad input, a missing tool, a service that did not answer: exit code 2."""
    INTERRUPTED = "interrupted"
    NOT_RUN = "not run"
    """Skipped: preflight's fail-fast stopped before it."""

    @property
    def exit_code(self) -> int:
        """The exit code a session ending with this status has (interrupted: 130)."""
        return _EXIT_CODES[self]

    @property
    def ok(self) -> bool:
        """Whether it lets the run go on as a success (exit code 0)."""
        return self.exit_code == EXIT_OK

    @property
    def style(self) -> str:
        """The :class:`~ci_tasks.core.actions.Output` style of its verdict line."""
        if self is Status.PASSED:
            return "ok"
        return "warning" if self.ok else "error"


_EXIT_CODES = {
    Status.PASSED: EXIT_OK,
    Status.UNVERIFIED: EXIT_OK,
    Status.NOT_RUN: EXIT_OK,
    Status.FAILED: EXIT_FINDINGS,
    Status.ERROR: EXIT_ERROR,
    Status.INTERRUPTED: EXIT_SIGINT,
}


@dataclasses.dataclass(frozen=True)
class Verdict:
    """One stage's verdict: its status, what it said beside it, and how long it took."""

    status: Status
    note: str | None = None
    """What the stage said with its status (why it is unverified)."""
    seconds: float = 0.0
    code: int | None = None
    """The exit code when it is not the status's own (128 + the signal that interrupted)."""

    @classmethod
    def of_exit_code(cls, code: int, seconds: float = 0.0) -> Verdict:
        """The verdict a finished session's exit code gives (0 passed, 2 could not run)."""
        status = {EXIT_OK: Status.PASSED, EXIT_ERROR: Status.ERROR}.get(code, Status.FAILED)
        return cls(status, seconds=seconds, code=None if code == status.exit_code else code)

    @property
    def exit_code(self) -> int:
        """The exit code this verdict ends a session with."""
        return self.status.exit_code if self.code is None else self.code

    @property
    def word(self) -> str:
        """The verdict in the words of its verdict line.

        ``passed``; a pass's note in its place (``72 %, below the 80 % threshold (not
        gated)``), so a tempered pass never reads as a plain one; ``UNVERIFIED (warning
        only: ...)``; ``failed``; ``could not run``.
        """
        if self.status is Status.UNVERIFIED:
            return f"UNVERIFIED ({self.note})" if self.note else "UNVERIFIED"
        if self.status is Status.PASSED and self.note:
            return self.note
        return str(self.status.value)

    @property
    def tempered(self) -> bool:
        """A pass that is not a plain one: unverified, or a pass with the stage's note."""
        return self.status is Status.UNVERIFIED or (
            self.status is Status.PASSED and bool(self.note)
        )

    @property
    def style(self) -> str:
        """The style of its verdict line: a pass with a note is a warning too."""
        return "warning" if self.tempered else self.status.style

    def line(self, stage: str) -> str:
        """``lint: passed in 1.2 s``: the one line that ends a stage's output."""
        if self.status is Status.INTERRUPTED:
            return f"{stage}: interrupted ({self.note}) after {self.seconds:.1f} s"
        return f"{stage}: {self.word} in {self.seconds:.1f} s"

    def took(self, seconds: float) -> Verdict:
        """This verdict, having taken *seconds*."""
        return dataclasses.replace(self, seconds=seconds)


def unverified(note: str) -> Verdict:
    """What a stage returns when it could not look but must not block, and why."""
    return Verdict(Status.UNVERIFIED, note=note)


def tempered(words: str) -> Verdict:
    """A pass that must not read as a plain one: *words* replace ``passed``."""
    return Verdict(Status.PASSED, note=words)
