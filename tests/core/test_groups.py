"""Which dependency groups a test run syncs, read from pyproject.toml."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from ci_tasks.core import groups
from ci_tasks.core.config import load_config

DEV_INCLUDES_TESTS = 'dev = ["ruff", {include-group = "tests"}]'


def _doc(text: str) -> dict:
    return tomllib.loads(text)


TESTS_AND_DEV = ["[dependency-groups]", 'tests = ["pytest", "freezegun"]', DEV_INCLUDES_TESTS]
COV = ["[dependency-groups]", 'tests = ["pytest", {include-group = "cov"}]', 'cov = ["coverage"]']
TYPING = [
    "[dependency-groups]",
    'tests = ["PyTest==8.3"]',
    'docs = ["sphinx"]',
    'typing = ["mypy"]',
]


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (["[dependency-groups]", 'dev = ["pytest>=8", "ruff==0.6"]'], ("dev",)),
        (TESTS_AND_DEV, ("tests",)),
        ([*COV, "[tool.uv]", "default-groups = []"], ("tests", "cov")),
        ([*TYPING, "[tool.uv]", 'default-groups = ["typing", "docs"]'], ("tests",)),
        (
            ["[dependency-groups]", 'dev = ["ruff", {include-group = "docs"}]', 'docs = ["x"]'],
            ("dev", "docs"),
        ),
        (
            ["[dependency-groups]", 'docs = ["sphinx"]', "[tool.uv]", 'default-groups = "all"'],
            ("docs",),
        ),
        (["[project]", 'name = "x"'], ()),
        (
            ["[dependency-groups]", 'tests = ["pytest"]', "[tool.uv]", 'default-groups = ["gone"]'],
            ("tests",),
        ),
    ],
)
def test_test_groups(lines: list[str], expected: tuple[str, ...]) -> None:
    """Pytest's group and what it includes; uv's default groups only without one; each once."""
    assert groups.test_groups(_doc("\n".join(lines))) == expected


TYPING_PRE_COMMIT = """\
[dependency-groups]
tests = ["pytest>=8", {include-group = "coverage"}]
coverage = ["coverage[toml]", {include-group = "tests"}]
typing = ["mypy", "pyright"]
pre-commit = ["pre-commit", "tox"]

[tool.uv]
default-groups = ["typing", "pre-commit", "tests"]
"""


def test_default_groups_holding_typing_and_pre_commit_are_not_synced() -> None:
    """Default groups holding type checkers and pre-commit are not synced; only the test groups."""
    choice = groups.choose_test_groups(_doc(TYPING_PRE_COMMIT))
    assert choice.groups == ("tests", "coverage")
    assert choice.describe() == "tests (lists pytest), coverage (included by tests)"


@pytest.mark.parametrize(
    ("text", "described"),
    [
        (
            '[dependency-groups]\ndev = ["ruff"]\n',
            "dev (uv's default group; no group lists pytest)",
        ),
        (
            '[dependency-groups]\nlint = ["ruff"]\n[tool.uv]\ndefault-groups = ["lint"]\n',
            "lint ([tool.uv] default-groups; no group lists pytest)",
        ),
        (
            (
                '[dependency-groups]\ntests = ["pytest"]\n'
                '[tool.ci-tasks]\ndependency-groups = ["tests"]\n'
            ),
            "tests ([tool.ci-tasks] dependency-groups)",
        ),
    ],
)
def test_config_says_why_each_group_is_synced(tmp_path: Path, text: str, described: str) -> None:
    """The loaded config says where its groups came from: uv's defaults, or the table."""
    (tmp_path / "pyproject.toml").write_text(text)
    assert load_config(tmp_path).group_choice().describe() == described


def test_includes_follow_cycles_once() -> None:
    """Groups including each other are listed once, without looping."""
    data = _doc('[dependency-groups]\na = [{include-group = "b"}]\nb = [{include-group = "a"}]')
    assert groups.includes(data, "a") == ["b"]


@pytest.mark.parametrize(
    ("entry", "name"),
    [
        ("pytest>=8", "pytest"),
        ("Pytest_Cov[toml]==5", "pytest-cov"),
        ({"include-group": "x"}, None),
    ],
)
def test_requirement_name(entry: object, name: str | None) -> None:
    """A requirement's name is normalised; an include table has none."""
    assert groups.requirement_name(entry) == name


def test_config_takes_the_test_groups_unless_set(tmp_path: Path) -> None:
    """Without ``dependency-groups`` the config syncs the project's test groups; set, it wins."""
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[dependency-groups]\ntests = ["pytest"]\nlint = ["ruff"]\n')
    assert load_config(tmp_path).dependency_groups == ("tests",)
    pyproject.write_text(
        '[dependency-groups]\ntests = ["pytest"]\n[tool.ci-tasks]\ndependency-groups = ["lint"]\n'
    )
    assert load_config(tmp_path).dependency_groups == ("lint",)


@pytest.mark.parametrize(
    ("uv", "expected"),
    [
        ("", ("dev", "tests")),  # uv's implicit default: dev, and what it includes
        ('[tool.uv]\ndefault-groups = ["typing"]', ("typing",)),
        ('[tool.uv]\ndefault-groups = ["typing", "nowhere"]', ("typing",)),
        ('[tool.uv]\ndefault-groups = "all"', ("tests", "dev", "typing")),
    ],
)
def test_synced_by_default(uv, expected):
    """What a plain ``uv sync`` installs: uv's default groups and their includes, if defined."""
    text = f'[dependency-groups]\ntests = ["pytest"]\n{DEV_INCLUDES_TESTS}\ntyping = ["mypy"]\n{uv}'
    assert groups.synced_by_default(_doc(text)) == expected
