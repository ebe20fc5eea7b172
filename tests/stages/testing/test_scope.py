"""The tests session's scope: the test command's variables, and the section's keys in its place."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ci_tasks.core.own_commands import Command, OwnCommands
from ci_tasks.stages.testing import scope as test_scope
from ci_tasks.stages.testing.config import TestsConfig
from ci_tasks.stages.testing.scope import TestScope


def _variables(source: str, *env: tuple[str, str], environ=None) -> test_scope.Variables:
    scope = TestScope(env=env, source=f"{source}: pytest tests")
    return test_scope.variables(scope, Path("/project"), environ or {})


def test_a_plain_assignment_is_passed_as_it_is():
    """`FOO=1 pytest`: pytest gets FOO=1."""
    assert _variables("justfile recipe 'test'", ("FOO", "1")).env == {"FOO": "1"}


def test_tox_substitutions_of_the_project_folder_and_separators_are_expanded():
    """`{toxinidir}{/}data`, `{tox_root}` and `{:}` are the project folder and separators."""
    found = _variables(
        "tox.ini [testenv]",
        ("DATA", "{toxinidir}{/}data"),
        ("ROOT", "{tox_root}"),
        ("PATHS", "a{:}b"),
    )
    assert found.env == {
        "DATA": f"/project{os.sep}data",
        "ROOT": "/project",
        "PATHS": f"a{os.pathsep}b",
    }
    assert found.skipped == ()


def test_tox_env_references_take_the_environment_or_their_default():
    """`{env:HOME}` is this environment's; `{env:NOPE:x}` its default; unset without one: said."""
    found = _variables(
        "tox.toml env.tests",
        ("A", "{env:HOME}"),
        ("B", "{env:NOPE:fallback}"),
        ("C", "{env:NOPE}"),
        environ={"HOME": "/home/me"},
    )
    assert found.env == {"A": "/home/me", "B": "fallback"}
    assert found.skipped == ("C={env:NOPE}: not set (NOPE is not set here)",)


def test_a_tox_substitution_of_its_own_environment_is_skipped_and_said_never_passed_raw():
    """`{envtmpdir}` names tox's own environment: not passed, and the session says so."""
    found = _variables("tox.ini [testenv]", ("TMP", "{envtmpdir}/x"), ("OK", "1"))
    assert found.env == {"OK": "1"}
    [said] = found.skipped
    assert said.startswith("TMP={envtmpdir}/x: not set ({envtmpdir} is the runner's own")


def test_hatch_context_fields_are_expanded():
    """Hatch's `{root}` is the project folder, `{;}` the path separator."""
    found = _variables("pyproject.toml hatch env 'test' script 'run'", ("P", "{root}{;}x"))
    assert found.env == {"P": f"/project{os.pathsep}x"}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("$HOME/data", "/home/me/data"),
        ("${HOME}", "/home/me"),
        ("${NOPE:-dflt}", "dflt"),
        ("$NOPE", ""),  # as the shell expands it
        ("~/x", str(Path.home()) + "/x"),
    ],
)
def test_a_shell_assignment_is_expanded_as_the_shell_would(value, expected):
    """A recipe's `FOO=$HOME/data pytest` gets the shell's expansion of the value."""
    found = _variables("Makefile target 'test'", ("FOO", value), environ={"HOME": "/home/me"})
    assert found.env == {"FOO": expected}


@pytest.mark.parametrize("value", ["$(pwd)/x", "`date`", "{{justvar}}"])
def test_a_value_a_command_computes_is_skipped_and_said(value):
    """`$(...)`, backticks and a task runner's `{{...}}` are not worked out: skipped, said."""
    found = _variables("justfile recipe 'test'", ("FOO", value))
    assert found.env == {}
    [said] = found.skipped
    assert said.startswith(f"FOO={value}: not set (")


def test_the_sessions_own_variables_stay_its_own():
    """A project's COVERAGE_FILE or CI_TASKS_* would move the session's outputs: not taken."""
    found = _variables("tox.ini [testenv]", ("COVERAGE_FILE", "x"), ("CI_TASKS_X", "1"))
    assert found.env == {}
    assert len(found.skipped) == 2


def test_tox_ini_names_and_values_are_stripped():
    """`FOO = 1` in tox.ini's setenv is FOO=1."""
    assert _variables("tox.ini [testenv]", ("FOO ", " 1")).env == {"FOO": "1"}


JUSTFILE_TEST = Command(
    "pytest", ("tests", "-x"), "justfile recipe 'test'", all_extras=True, groups=("test",)
)


def test_the_sections_keys_replace_the_test_commands_key_by_key():
    """`pytest-args` set: pytest gets those; extras and groups still come from the command."""
    own = OwnCommands(commands=(JUSTFILE_TEST,))
    config = TestsConfig(pytest_args=("tests/unit", "-m", "not slow"))
    chosen = test_scope.choose(own, config=config)
    assert (chosen.args, chosen.all_extras, chosen.groups) == (
        ("tests/unit", "-m", "not slow"),
        True,
        ("test",),
    )
    assert chosen.said() == (
        "scope: pytest tests/unit -m 'not slow' --all-extras --group test "
        "(pyproject.toml [tool.ci-tasks.tests] pytest-args; "
        "the rest: justfile recipe 'test': pytest tests -x)"
    )


def test_every_key_set_is_the_sections_scope_alone():
    """All four keys set: the scope is the section's, said so, whatever the command says."""
    config = TestsConfig(pytest_args=("t",), extras=("x",), all_extras=False, groups=())
    chosen = test_scope.choose(OwnCommands(commands=(JUSTFILE_TEST,)), config=config)
    assert (chosen.args, chosen.extras, chosen.all_extras, chosen.groups) == (
        ("t",),
        ("x",),
        False,
        (),
    )
    assert chosen.source == (
        "pyproject.toml [tool.ci-tasks.tests] pytest-args, extras, all-extras, groups"
    )


def test_without_keys_or_a_command_the_defaults_are_said():
    """Nothing set and no test command: the default, said so."""
    assert test_scope.choose(OwnCommands(), config=TestsConfig()).source == test_scope.DEFAULT


def test_init_writes_the_test_commands_scope_and_nothing_without_one():
    """The keys init writes are the command's scope, with where it came from; none without."""
    found = test_scope.adopted(OwnCommands(commands=(JUSTFILE_TEST,)))
    why = "from justfile recipe 'test': pytest tests -x"
    assert {k: (v.value, v.why) for k, v in found.items()} == {
        "pytest_args": (("tests",), why),
        "all_extras": (True, why),
        "groups": (("test",), why),
    }
    assert test_scope.adopted(OwnCommands()) == {}


@pytest.mark.parametrize(
    ("tox_ini", "install"),
    [
        ("[testenv]\nusedevelop = true\ncommands = pytest tests\n", "project"),
        ("[testenv]\npackage = editable\ncommands = pytest tests\n", "project"),
        ("[testenv]\nsetenv =\n    PYTHONPATH = src\ncommands = pytest tests\n", "project"),
        ("[testenv]\ncommands = pytest tests\n", None),  # tox builds the package: the wheel
    ],
)
def test_init_chooses_install_project_where_the_test_command_needs_the_tree(
    tmp_path, tox_ini, install
):
    """Tox's usedevelop / package = editable or a PYTHONPATH: project; else wheel, unwritten."""
    from ci_tasks.core import own_commands  # noqa: PLC0415

    (tmp_path / "tox.ini").write_text(tox_ini)
    found = test_scope.adopted(own_commands.read(tmp_path), tmp_path)
    assert (found["install"].value if "install" in found else None) == install
    if install:
        assert found["install"].why.startswith("from tox.ini [testenv]: ")
