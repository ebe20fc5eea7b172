"""Which ruff and mypy lint runs: the project's when its lock locks them, else the CI env's."""

from __future__ import annotations

import pytest

from ci_tasks.core.pins import Pin
from ci_tasks.stages.lint.session import drift
from ci_tasks.stages.lint.toolchain import plan

LOCK_WITH_RUFF = '[[package]]\nname = "ruff"\nversion = "0.5.0"\n'
LOCK_WITH_BOTH = LOCK_WITH_RUFF + '\n[[package]]\nname = "mypy"\nversion = "1.10.0"\n'
DOCUMENT = {"dependency-groups": {"lint": ["ruff>=0.5", "mypy"], "tests": ["pytest"]}}


@pytest.mark.parametrize(
    ("lock", "mypy", "ruff_groups", "mypy_groups", "needs_env"),
    [
        (None, False, (), (), False),
        (LOCK_WITH_RUFF, False, ("lint",), (), True),
        (LOCK_WITH_RUFF, True, ("lint",), (), True),
        (LOCK_WITH_BOTH, True, ("lint",), ("lint",), True),
        (None, True, (), (), True),
    ],
)
def test_plan(lock, mypy, ruff_groups, mypy_groups, needs_env):
    """A group listing a locked tool makes it the project's; mypy always needs the project."""
    chain = plan(DOCUMENT, lock, mypy=mypy)
    assert (chain.ruff_groups, chain.mypy_groups, chain.needs_env) == (
        ruff_groups,
        mypy_groups,
        needs_env,
    )


def test_a_tool_listed_but_not_locked_is_the_ci_environments():
    """Ruff in a group but absent from uv.lock (a stale or missing lock) is not the project's."""
    chain = plan(DOCUMENT, '[[package]]\nname = "pytest"\n', mypy=False)
    assert chain.sources() == {"ruff": "the CI environment's"}
    assert not chain.needs_env


def test_sync_groups_add_the_test_groups_only_for_mypy():
    """Ruff alone syncs its own group; mypy also syncs what the project's tests import."""
    chain = plan(DOCUMENT, LOCK_WITH_BOTH, mypy=False)
    assert chain.sync_groups(("tests",)) == ("lint",)
    chain = plan(DOCUMENT, LOCK_WITH_BOTH, mypy=True)
    assert chain.sync_groups(("tests",)) == ("lint", "tests")


def test_uv_lock_comes_before_pre_commit():
    """A tool locked in uv.lock is the project's even when pre-commit pins it too."""
    pins = {"ruff": Pin("ruff", "0.15.16", 3), "mypy": Pin("mypy", "1.11.2", 7)}
    chain = plan(DOCUMENT, LOCK_WITH_RUFF, mypy=True, pre_commit=pins)
    assert chain.pinned_in("ruff") == "uv.lock"
    assert chain.pin("ruff") is None
    assert chain.pinned_in("mypy") == ".pre-commit-config.yaml"
    assert chain.sources()["mypy"] == (
        "its own environment of mypy, as pre-commit runs it, pinned in "
        ".pre-commit-config.yaml (1.11.2)"
    )


def test_drift_is_one_finding_naming_the_fix():
    """A CI environment's ruff other than the pre-commit rev is a finding at the rev's line."""
    pin = Pin("ruff", "0.15.16", 3)
    assert drift("ruff", pin, "0.15.16") is None
    finding = drift("ruff", pin, "0.17.6")
    assert finding is not None
    assert (finding.rule, finding.file, finding.line) == (
        "tool-drift",
        ".pre-commit-config.yaml",
        3,
    )
    assert "pins ruff 0.15.16 but the CI environment has 0.17.6" in finding.message
    assert "run `ci-tasks lock`" in finding.message


def test_a_pre_commit_mypy_runs_alone_as_pre_commit_runs_it():
    """A mypy pinned only in pre-commit needs no project env, so ruff alone needs none either."""
    pins = {"mypy": Pin("mypy", "1.11.2", 7, ("types-requests",))}
    chain = plan(DOCUMENT, None, mypy=True, pre_commit=pins)
    assert chain.mypy_isolated
    assert not chain.needs_env
    assert chain.sync_groups(("tests",)) == ()
    locked = plan(DOCUMENT, LOCK_WITH_BOTH, mypy=True, pre_commit=pins)
    assert not locked.mypy_isolated
    assert locked.sync_groups(("tests",)) == ("lint", "tests")


LOCK_WITH_BLACK = LOCK_WITH_RUFF + '\n[[package]]\nname = "black"\nversion = "24.10.0"\n'
BLACK_DOCUMENT = {"dependency-groups": {"lint": ["ruff", "black"]}}


def test_a_locked_black_runs_from_the_projects_environment_only_where_black_runs():
    """Black locked in a group is the project's; it needs the env only where it formats with it."""
    chain = plan(BLACK_DOCUMENT, LOCK_WITH_BLACK, mypy=False, black=True)
    assert chain.black_groups == ("lint",)
    assert chain.black_needs_project
    assert chain.sources()["black"] == "the project's (uv.lock, group lint)"
    assert chain.pinned_in("black") == "uv.lock"
    assert "black" not in plan(BLACK_DOCUMENT, LOCK_WITH_BLACK, mypy=False).sources()


def test_a_pre_commit_black_is_the_ci_environments_at_its_rev():
    """Black pinned only by its hook's rev: the CI environment's, at that version."""
    pins = {"black": Pin("black", "24.8.0", 3)}
    chain = plan(DOCUMENT, LOCK_WITH_RUFF, mypy=False, pre_commit=pins, black=True)
    assert not chain.black_needs_project
    assert chain.pin("black") == pins["black"]
    assert chain.sources()["black"] == (
        "the CI environment's, pinned in .pre-commit-config.yaml (24.8.0)"
    )


def test_uv_lock_and_pre_commit_pinning_a_tool_differently_is_said_in_one_line():
    """uv.lock's ruff 0.5.0 and black 24.10.0 against pre-commit's revs: one line each."""
    pins = {"ruff": Pin("ruff", "0.15.16", 3), "black": Pin("black", "24.10.0", 9)}
    chain = plan(BLACK_DOCUMENT, LOCK_WITH_BLACK, mypy=False, pre_commit=pins, black=True)
    said = chain.disagreement("ruff")
    assert said is not None
    assert said == (
        pins["ruff"],
        (
            "ruff: uv.lock locks 0.5.0 but .pre-commit-config.yaml pins 0.15.16; "
            "lint runs uv.lock's 0.5.0 (make them agree for one verdict)"
        ),
    )
    assert chain.disagreement("black") is None  # the same version: nothing to say
    assert chain.disagreement("mypy") is None
