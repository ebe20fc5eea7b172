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
        (TESTS_AND_DEV, ("tests", "dev")),
        ([*COV, "[tool.uv]", "default-groups = []"], ("tests", "cov")),
        ([*TYPING, "[tool.uv]", 'default-groups = ["typing"]'], ("tests", "typing")),
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
    """Pytest's group, the groups it includes and uv's default groups, each once, in order."""
    assert groups.test_groups(_doc("\n".join(lines))) == expected


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
