"""Accountable ignores: one rule for lint and security, with a reason and a last day."""

from __future__ import annotations

import datetime as dt

import pytest

from ci_tasks.core import ignores
from ci_tasks.core.config import parse_config
from ci_tasks.core.errors import ConfigError
from ci_tasks.stages.lint.config import LintIgnore
from ci_tasks.stages.security.config import SecurityIgnore

UNTIL = dt.date(2027, 3, 3)


def entry(rule="E501", file="", until=UNTIL):
    return LintIgnore(rule=rule, file=file, reason="accepted", until=until)


@pytest.mark.parametrize(
    ("file", "finding_file", "covered"),
    [
        ("", "anything.py", True),
        ("src/x.py", "src/x.py", True),
        ("src/x.py", "src/y.py", False),
        ("tests/*", "tests/test_x.py", True),
        ("src/x.py", None, False),
    ],
)
def test_an_entry_covers_its_rule_in_its_file(file, finding_file, covered):
    """The key must match; a file narrows the entry to it (a glob)."""
    assert entry(file=file).covers(("E501", "ruff"), finding_file) is covered
    assert not entry(file=file).covers(("F401", "ruff"), finding_file)


def test_an_entry_holds_through_its_last_day_and_then_says_so():
    """Until the ``until`` day it ignores; the day after, it is reported as expired."""
    entries = [entry()]
    assert ignores.judge(("E501",), "x.py", entries, UNTIL).live == entries[0]
    after = ignores.judge(("E501",), "x.py", entries, UNTIL + dt.timedelta(days=1))
    assert after.live is None
    assert after.expired == (entries[0],)
    assert ignores.expiry_note(entries[0], "E501 in x.py:3") == (
        "ignore E501 expired on 2027-03-03; E501 in x.py:3 counts again"
    )


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"rule": "E501", "until": "2027-01-01"}, "ignore 'E501' has no 'reason'"),
        ({"rule": "E501", "reason": "r"}, "no 'until' date"),
        ({"reason": "r", "until": "2027-01-01"}, "every ignore needs a 'rule'"),
        ({"rule": "E501", "reason": "r", "until": "soon"}, "expected a date"),
    ],
)
def test_a_lint_ignore_without_reason_or_expiry_is_a_config_error(tmp_path, table, message):
    """Lint's entries are checked like security's: one line naming the key."""
    with pytest.raises(ConfigError, match=message) as info:
        parse_config({"lint": {"ignore": [table]}}, tmp_path / "pyproject.toml")
    assert "lint" in str(info.value)


def test_configured_lists_every_stages_entries(tmp_path):
    """Both stages' entries, with the stage whose section holds them."""
    config = parse_config(
        {
            "lint": {"ignore": [{"rule": "F401", "reason": "r", "until": UNTIL}]},
            "security": {"ignore": [{"id": "B324", "file": "a.py", "reason": "r", "until": UNTIL}]},
        },
        tmp_path / "pyproject.toml",
    )
    found = ignores.configured(config.sections)
    assert [(stage, e.describe()) for stage, e in found] == [
        ("lint", "F401"),
        ("security", "B324 in a.py"),
    ]
    assert isinstance(found[1][1], SecurityIgnore)
