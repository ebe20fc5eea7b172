"""GitHub Actions output, and the plain-text equivalent everywhere else.

Under Actions (``GITHUB_ACTIONS=true``) the calls speak the runner's workflow-command
language; elsewhere they print readable text, in colour only on a terminal and never
when ``NO_COLOR`` is set. Everything printed or written is masked first.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Literal, TextIO

from ci_tasks.core import masking

Level = Literal["error", "warning", "notice"]

# GitHub refuses a step summary over 1 MiB; we stop appending a little before that.
STEP_SUMMARY_LIMIT = 1024 * 1024
_TRUNCATION_NOTE = "\n\n_(ci_tasks: summary truncated at GitHub's 1 MiB limit)_\n"

_COLOURS = {"error": "31", "warning": "33", "notice": "36", "ok": "32", "bold": "1"}


def _escape_data(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(value: str) -> str:
    return _escape_data(value).replace(":", "%3A").replace(",", "%2C")


class Output:
    """Where a run's human-facing output goes."""

    def __init__(
        self,
        stream: TextIO | None = None,
        env: Mapping[str, str] | None = None,
        masker: masking.Masker | None = None,
    ) -> None:
        self._stream = stream
        self.env: Mapping[str, str] = os.environ if env is None else env
        self.masker = masker or masking.default_masker()

    @property
    def stream(self) -> TextIO:
        """The text stream (standard output unless another was given)."""
        return self._stream if self._stream is not None else sys.stdout

    @property
    def in_actions(self) -> bool:
        """Whether this process runs as a GitHub Actions step."""
        return self.env.get("GITHUB_ACTIONS") == "true"

    @property
    def colour(self) -> bool:
        """Colour only on a terminal, outside Actions, and when ``NO_COLOR`` is unset."""
        if self.in_actions or self.env.get("NO_COLOR"):
            return False
        isatty = getattr(self.stream, "isatty", None)
        return bool(isatty and isatty())

    def _paint(self, text: str, style: str) -> str:
        if not self.colour or style not in _COLOURS:
            return text
        return f"\033[{_COLOURS[style]}m{text}\033[0m"

    def write(self, text: str) -> None:
        """Write *text* (masked) and flush, so long runs never look frozen."""
        self.stream.write(self.masker.mask(text))
        self.stream.flush()

    def line(self, text: str = "", style: str = "") -> None:
        """Print one line, optionally styled (``error``, ``warning``, ``ok``, ``bold``)."""
        self.write(self._paint(self.masker.mask(text), style) + "\n")

    @contextlib.contextmanager
    def group(self, title: str) -> Iterator[None]:
        """A collapsible group under Actions; a heading line elsewhere."""
        if self.in_actions:
            self.write(f"::group::{_escape_data(title)}\n")
            try:
                yield
            finally:
                self.write("::endgroup::\n")
        else:
            self.line(f"── {title}", "bold")
            yield

    def annotate(
        self,
        level: Level,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        col: int | None = None,
        title: str | None = None,
    ) -> None:
        """An ``::error file=,line=::`` annotation; ``level: file:line: message`` elsewhere."""
        message = self.masker.mask(message)
        if self.in_actions:
            props = []
            if file:
                props.append(f"file={_escape_property(file)}")
            if line is not None:
                props.append(f"line={line}")
            if col is not None:
                props.append(f"col={col}")
            if title:
                props.append(f"title={_escape_property(self.masker.mask(title))}")
            sep = " " if props else ""
            self.write(f"::{level}{sep}{','.join(props)}::{_escape_data(message)}\n")
            return
        where = ""
        if file:
            where = file if line is None else f"{file}:{line}" + ("" if col is None else f":{col}")
            where += ": "
        head = f"{title}: " if title else ""
        self.line(f"{level}: {where}{head}{message}", level)

    def add_mask(self, value: str) -> None:
        """Register *value* as a secret, and tell the Actions runner to hide it too.

        A URL is registered by its pieces as well (its path is how an HTTP client logs it).
        """
        self.mask_in_runner(self.masker.add(value))

    def add_url_mask(self, url: str) -> None:
        """Register the secret pieces (userinfo, query values) of a URL that is not secret."""
        self.mask_in_runner(self.masker.add_url(url))

    def mask_in_runner(self, values: list[str]) -> None:
        """Under Actions, tell the runner to hide each of *values* (``::add-mask::``)."""
        if not self.in_actions or not values:
            return
        for value in values:
            # Written raw: masking it first would tell the runner to mask '***'.
            self.stream.write(f"::add-mask::{_escape_data(value)}\n")
        self.stream.flush()

    def summary(self, markdown: str) -> bool:
        """Append markdown to the job summary; returns whether a summary file exists.

        Stays under GitHub's 1 MiB limit: what does not fit is cut with a note.
        """
        path = self.env.get("GITHUB_STEP_SUMMARY")
        if not path:
            return False
        target = Path(path)
        data = self.masker.mask(markdown).encode()
        used = target.stat().st_size if target.exists() else 0
        room = STEP_SUMMARY_LIMIT - used
        note = _TRUNCATION_NOTE.encode()
        if len(data) > room:
            if room <= len(note):
                return True
            data = data[: room - len(note)].decode(errors="ignore").encode() + note
        with target.open("ab") as fh:
            fh.write(data)
        return True

    def set_output(self, name: str, value: str) -> bool:
        """Write a step output to ``GITHUB_OUTPUT``; returns whether the file exists."""
        path = self.env.get("GITHUB_OUTPUT")
        if not path:
            return False
        value = self.masker.mask(value)
        with Path(path).open("a", encoding="utf-8") as fh:
            if "\n" in value:
                delimiter = f"ci_tasks_{os.urandom(16).hex()}"  # unguessable, as uuid4
                fh.write(f"{name}<<{delimiter}\n{value}\n{delimiter}\n")
            else:
                fh.write(f"{name}={value}\n")
        return True


_default = Output()


def default_output() -> Output:
    """The process-wide output (standard output, the process environment)."""
    return _default
