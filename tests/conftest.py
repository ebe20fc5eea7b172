"""Shared fixtures: a fresh masker and no retry sleeps unless a test asks for them."""

from __future__ import annotations

import io
import subprocess

import pytest

from ci_tasks.core import masking, retry
from ci_tasks.core.actions import Output


@pytest.fixture(autouse=True)
def _no_retry_sleeps():
    retry.set_testing(testing=True)
    yield
    retry.set_testing(testing=False)


@pytest.fixture
def masker():
    """The process-wide masker, emptied before and after the test."""
    m = masking.default_masker()
    m.clear()
    yield m
    m.clear()


class Captured(Output):
    """An Output writing to memory, outside Actions unless told otherwise."""

    def __init__(self, env=None):
        self.buffer = io.StringIO()
        super().__init__(stream=self.buffer, env=env if env is not None else {})

    @property
    def text(self) -> str:
        return self.buffer.getvalue()


@pytest.fixture
def out():
    return Captured()


@pytest.fixture
def launched(monkeypatch):
    """Every argv started through ``subprocess.Popen`` during the test (the runner's, git's).

    The commands still run: this records, it does not fake.
    """
    seen: list[list[str]] = []

    class Recording(subprocess.Popen):  # type: ignore[type-arg]
        def __init__(self, args, *rest, **kwargs):
            seen.append([str(a) for a in ([args] if isinstance(args, str | bytes) else args)])
            super().__init__(args, *rest, **kwargs)

    monkeypatch.setattr(subprocess, "Popen", Recording)
    return seen
