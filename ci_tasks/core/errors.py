"""One exception hierarchy, and the one place exceptions become exit codes.

Exit codes (documented in the README):

* 0: everything checked, nothing found;
* 1: the check ran and found a problem (:class:`CheckFailed`, :class:`CommandFailed`,
  :class:`CommandTimedOut`);
* 2: the tool could not run: bad configuration or usage, a missing tool, an unreachable
  service (:class:`ConfigError`, :class:`UsageError`, :class:`ServiceUnavailable`, ...);
* 128 + the signal's number when a termination signal stopped the run (:class:`Interrupted`):
  130 for Ctrl-C, 143 for SIGTERM, 129 for SIGHUP (149 for Windows' Ctrl-Break, SIGBREAK).
"""

from __future__ import annotations

import signal
from typing import ClassVar

from ci_tasks.core import masking

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_ERROR = 2
EXIT_SIGINT = 128 + signal.SIGINT
"""Ctrl-C, or an interruption whose signal is not known: 130."""


class CITasksError(Exception):
    """Root of every error ci_tasks raises on purpose.

    The message is masked when the error is made, so no secret reaches a traceback,
    a log or a report through an exception.
    """

    exit_code: ClassVar[int] = EXIT_ERROR

    def __init__(self, message: str) -> None:
        super().__init__(masking.mask(message))

    @property
    def message(self) -> str:
        """The one-line explanation shown to the user."""
        return str(self.args[0]) if self.args else ""


class ConfigError(CITasksError):
    """The configuration is invalid: names the file, the key and what is expected."""


class UsageError(CITasksError):
    """A command-line argument or posarg is invalid."""


class ToolMissingError(CITasksError):
    """A program ci_tasks needs is not installed."""


class ServiceUnavailable(CITasksError):
    """A service (GitHub API, vulnerability database, webhook) could not be reached."""


class CheckFailed(CITasksError):
    """A check ran and found a problem."""

    exit_code = EXIT_FINDINGS


class _CommandError(CITasksError):
    """A command went wrong; the last lines of its output follow the message."""

    exit_code = EXIT_FINDINGS

    def __init__(self, command: str, message: str, tail: str) -> None:
        self.command = masking.mask(command)
        self.tail = masking.mask(tail)
        super().__init__(message.replace(command, self.command))

    def __str__(self) -> str:
        if not self.tail:
            return self.message
        return f"{self.message}; last output:\n{self.tail}"


class CommandFailed(_CommandError):
    """A command exited with a code that is not a success."""

    def __init__(self, command: str, returncode: int, tail: str) -> None:
        self.returncode = returncode
        super().__init__(command, f"`{command}` failed with exit code {returncode}", tail)


class CommandTimedOut(_CommandError):
    """A command ran past its timeout; its whole process tree was killed.

    *timeout* is the one that applied, fixed when the command started: its own, or what
    was left of the runner's deadline (*by_deadline*: a session's timeout).
    """

    def __init__(
        self, command: str, timeout: float, tail: str, *, by_deadline: bool = False
    ) -> None:
        self.timeout = timeout
        self.by_deadline = by_deadline
        why = ", all that was left of the session's timeout" if by_deadline else ""
        message = (
            f"`{command}` timed out after {_seconds(timeout)} s{why}; its process tree was killed"
        )
        super().__init__(command, message, tail)


def _seconds(value: float) -> str:
    """``1.0``, ``1800.0``; small values keep their digits (``0.25``)."""
    return f"{value:.1f}" if round(value, 1) >= 1 else f"{value:.2g}"


class Interrupted(KeyboardInterrupt):
    """A termination signal arrived: SIGINT (Ctrl-C), SIGTERM or SIGHUP.

    A :class:`KeyboardInterrupt`, so every place that cleans up after Ctrl-C (the
    runner killing a command's tree, nox stopping its own commands) does the same for
    SIGTERM and SIGHUP. The exit code is the shell's: 128 + the signal's number.
    """

    def __init__(self, signum: int) -> None:
        self.signum = signum
        super().__init__(signal.Signals(signum).name)

    @property
    def name(self) -> str:
        """``SIGTERM``."""
        return signal.Signals(self.signum).name

    @property
    def exit_code(self) -> int:
        """130 for SIGINT, 143 for SIGTERM, 129 for SIGHUP."""
        return 128 + self.signum


def exit_code_for(exc: BaseException) -> int:
    """Map an exception to the documented exit code."""
    if isinstance(exc, CITasksError):
        return exc.exit_code
    if isinstance(exc, Interrupted):
        return exc.exit_code
    if isinstance(exc, KeyboardInterrupt):
        return EXIT_SIGINT
    return EXIT_ERROR
