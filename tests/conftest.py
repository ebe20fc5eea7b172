"""Shared fixtures: a fresh masker and no retry sleeps unless a test asks for them."""

from __future__ import annotations

import io

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
