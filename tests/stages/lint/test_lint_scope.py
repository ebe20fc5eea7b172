"""Lint's scope comes from the project's own gates."""

from __future__ import annotations

from ci_tasks.core.own_commands import Command, Hook, OwnCommands, parse_hooks
from ci_tasks.stages.lint import scope
from ci_tasks.stages.lint.config import LintConfig


def test_without_a_lint_command_of_its_own_the_defaults_apply_and_say_so():
    """No lint command or hook: ruff check and format check over `.`, said as the default."""
    chosen = scope.choose(OwnCommands(commands=(Command("pytest", ("tests",), "tox.ini"),)))
    assert chosen.check == scope.Check()
    assert chosen.format == scope.Check()
    assert all(scope.DEFAULT in line for line in chosen.said())


def test_a_recipes_paths_scope_the_format_check():
    """`ruff format --check src tests docs/conf.py` is checked over those paths only."""
    fmt = Command("ruff", ("format", "--check", "src", "tests", "docs/conf.py"), "justfile")
    chosen = scope.choose(OwnCommands(commands=(fmt,)))
    assert chosen.format is not None
    assert chosen.format.paths == ("src", "tests", "docs/conf.py")
    assert chosen.check is None
    assert "ruff check: none" in "\n".join(chosen.said())


def test_a_project_formatting_with_black_gets_black_not_ruff_format():
    """Black is the project's formatter: ruff's format check would be a verdict it never gave."""
    chosen = scope.choose(OwnCommands(commands=(Command("black", ("--check", "."), "tox.ini"),)))
    assert chosen.format is None
    assert chosen.formatter == "black"
    assert chosen.black == scope.Check(source="tox.ini: black --check .")
    assert "black --check: . (tox.ini: black --check .)" in chosen.said()
    assert not any(line.startswith("ruff format") for line in chosen.said())


def test_a_black_jupyter_hook_makes_black_the_formatter_over_python_files():
    """psf/black's `black-jupyter` hook is black: ruff format would be a verdict never given."""
    hook = Hook("black-jupyter", "https://github.com/psf/black-pre-commit-mirror", "25.1.0")
    chosen = scope.choose(OwnCommands(hooks=(hook,)))
    assert (chosen.formatter, chosen.format) == ("black", None)
    assert chosen.black is not None
    assert chosen.black.covers("src/a.py")
    assert not chosen.black.covers("notes/a.ipynb")


def test_a_black_commands_paths_and_options_are_its_scope():
    """`black --check --diff -l 100 src tests`: those paths, `-l 100` kept, output flags not."""
    args = ("--check", "--diff", "-l", "100", "--preview", "src", "tests", "-q")
    chosen = scope.choose(OwnCommands(commands=(Command("black", args, "Makefile target 'x'"),)))
    assert chosen.black is not None
    assert (chosen.black.paths, chosen.black.options) == (
        ("src", "tests"),
        ("-l", "100", "--preview"),
    )


def test_a_black_hooks_files_exclude_and_args_are_its_scope():
    """A black hook's `files`/`exclude` filter its findings; its `args` are black's options."""
    hook = Hook("black", "https://github.com/psf/black-pre-commit-mirror", "24.8.0",
                args=("--line-length=100",), files=r"^src/", exclude=r"^src/gen/")  # fmt: skip
    chosen = scope.choose(OwnCommands(hooks=(hook,)))
    assert chosen.black is not None
    assert chosen.black.options == ("--line-length=100",)
    assert chosen.black.paths == (".",)
    assert chosen.black.covers("src/a.py")
    assert not chosen.black.covers("bench/a.py")
    assert not chosen.black.covers("src/gen/a.py")
    assert "black --check: --line-length=100 . (pre-commit hook 'black')" in chosen.said()


def test_ruff_format_wins_over_black_where_the_project_gates_on_both():
    """A ruff-format hook is the formatter: black is not run beside it."""
    hooks = (Hook("ruff-format", "r", "v0.6.0"), Hook("black", "b", "24.8.0"))
    chosen = scope.choose(OwnCommands(hooks=hooks))
    assert chosen.format is not None
    assert chosen.black is None


def test_a_pre_commit_hooks_files_and_exclude_filter_findings():
    """A ruff-format hook's `files`/`exclude` say which files its gate covers."""
    hook = Hook("ruff-format", "r", "v0.6.0", files=r"^src/", exclude=r"^src/gen/")
    chosen = scope.choose(OwnCommands(hooks=(hook,)))
    assert chosen.format is not None
    assert chosen.format.covers("src/a.py")
    assert not chosen.format.covers("bench/a.py")
    assert not chosen.format.covers("src/gen/a.py")


def test_pre_commits_top_level_files_and_exclude_filter_every_hooks_findings():
    """Top-level `exclude` (verbose, as projects write it) and `files` narrow each hook."""
    config = (
        "exclude: |\n  (?x)^(\n    vendor/.*|\n    docs/conf\\.py\n  )$\nfiles: ^(src|tests)/\n"
        "repos:\n- repo: https://github.com/astral-sh/ruff-pre-commit\n  rev: v0.6.0\n"
        "  hooks:\n  - id: ruff-format\n    exclude: ^src/gen/\n"
    )
    chosen = scope.choose(OwnCommands(hooks=parse_hooks(config)))
    assert chosen.format is not None
    assert chosen.format.covers("src/a.py")
    assert chosen.format.covers("tests/test_a.py")
    for outside in ("bench/a.py", "src/gen/a.py", "vendor/src/a.py", "docs/conf.py"):
        assert not chosen.format.covers(outside), outside


def test_old_style_ruff_is_ruff_check_over_its_paths():
    """`ruff src` (no subcommand) is ruff check of src."""
    chosen = scope.choose(OwnCommands(commands=(Command("ruff", ("src",), "Makefile"),)))
    assert chosen.check is not None
    assert chosen.check.paths == ("src",)


def test_mypy_auto_runs_where_the_project_runs_mypy_with_its_targets_and_options():
    """`mypy --strict --pretty src -p pkg`: mypy runs over those, with `--strict`, said as auto."""
    args = ("--strict", "--pretty", "--cache-dir", "x", "src", "-p", "pkg")
    own = OwnCommands(commands=(Command("mypy", args, "justfile recipe 'lint'"),))
    chosen = scope.choose(own)
    assert chosen.mypy is not None
    assert (chosen.mypy.paths, chosen.mypy.options) == (("src", "-p", "pkg"), ("--strict",))
    assert chosen.mypy_said() == (
        "mypy: --strict src -p pkg (auto: justfile recipe 'lint': "
        "mypy --strict --pretty --cache-dir x src -p pkg)"
    )
    assert chosen.mypy_said() in chosen.said()


def test_mypy_auto_does_not_run_where_the_project_runs_no_mypy():
    """No mypy hook or command: no mypy, and the line says why."""
    chosen = scope.choose(OwnCommands(commands=(Command("ruff", ("check",), "Makefile"),)))
    assert chosen.mypy is None
    assert "mypy: none (auto: the project's own commands run no mypy)" in chosen.said()
    assert scope.choose(OwnCommands()).mypy is None  # the defaults run no mypy either


def test_a_mypy_hook_runs_mypy_within_its_files():
    """A mypy hook: given the tracked files within its filters, as pre-commit gives them."""
    hook = Hook("mypy", "https://github.com/pre-commit/mirrors-mypy", "v1.11.2", files="^src/")
    chosen = scope.choose(OwnCommands(hooks=(hook,)))
    assert chosen.mypy is not None
    assert chosen.mypy.paths == ()
    assert chosen.mypy.covers("src/a.py")
    assert not chosen.mypy.covers("tests/a.py")
    assert chosen.mypy.listed
    said = "mypy: the tracked files the hook covers (auto: pre-commit hook 'mypy')"
    assert chosen.mypy_said() == said


def test_an_explicit_mypy_setting_wins_over_the_projects_own_commands():
    """`mypy = false` turns a project's mypy off; `mypy = true` runs it without one; said so."""
    own = OwnCommands(commands=(Command("mypy", ("src",), "tox.ini [testenv:type]"),))
    off = scope.choose(own, LintConfig(mypy=False))
    assert off.mypy is None
    assert off.mypy_said() == "mypy: none (pyproject.toml [tool.ci-tasks.lint] mypy = false)"
    on = scope.choose(OwnCommands(), LintConfig(mypy=True, mypy_targets=("pkg",)))
    assert on.mypy is not None
    assert on.mypy.paths == ("pkg",)
    assert on.mypy_said() == (
        "mypy: pkg (pyproject.toml [tool.ci-tasks.lint] mypy = true; "
        "targets from pyproject.toml [tool.ci-tasks.lint] mypy-targets)"
    )


LINT_RECIPE = OwnCommands(
    commands=(
        Command("ruff", ("check", "src", "tests"), "justfile recipe 'lint'"),
        Command("ruff", ("format", "--check", "src", "tests"), "justfile recipe 'lint'"),
    )
)


def test_the_sections_paths_replace_the_gates_and_say_so():
    """`check-paths` and `format-paths` set: those paths, said as the section's."""
    config = LintConfig(check_paths=("src",), format_paths=("src", "docs/conf.py"))
    chosen = scope.choose(LINT_RECIPE, config)
    assert chosen.check is not None
    assert chosen.format is not None
    assert (chosen.check.paths, chosen.format.paths) == (("src",), ("src", "docs/conf.py"))
    assert chosen.said()[:2] == [
        "ruff check: src (pyproject.toml [tool.ci-tasks.lint] check-paths)",
        "ruff format --check: src docs/conf.py (pyproject.toml [tool.ci-tasks.lint] format-paths)",
    ]


def test_empty_paths_or_formatter_none_turn_a_check_off_and_say_so():
    """`check-paths = []`: no ruff check; `formatter = "none"`: no format check; said."""
    chosen = scope.choose(LINT_RECIPE, LintConfig(check_paths=(), formatter="none"))
    assert (chosen.check, chosen.format, chosen.black) == (None, None, None)
    assert "ruff check: none (pyproject.toml [tool.ci-tasks.lint] check-paths = [])" in (
        chosen.said()
    )
    assert 'format check: none (pyproject.toml [tool.ci-tasks.lint] formatter = "none")' in (
        chosen.said()
    )


def test_formatter_black_runs_black_over_the_format_paths():
    """`formatter = "black"` where the project's commands show ruff format: black, said so."""
    config = LintConfig(formatter="black", format_paths=("src",))
    chosen = scope.choose(LINT_RECIPE, config)
    assert chosen.format is None
    assert chosen.black == scope.Check(
        paths=("src",), source="pyproject.toml [tool.ci-tasks.lint] formatter, format-paths"
    )


def test_init_writes_a_commands_paths_and_leaves_a_filtered_hooks_to_a_comment():
    """A recipe's paths are written; a hook with `files` is only a comment (`.` checks more)."""
    found = scope.adopted(LINT_RECIPE)
    assert {k: (v.value, v.commented) for k, v in found.items()} == {
        "mypy": ("auto", False),
        "check_paths": (("src", "tests"), False),
        "formatter": ("ruff", False),
        "format_paths": (("src", "tests"), False),
    }
    assert found["check_paths"].why == "from justfile recipe 'lint': ruff check src tests"
    assert found["mypy"].why == "auto: off, the project's own commands run no mypy"
    hooked = scope.adopted(OwnCommands(hooks=(Hook("ruff-format", "r", "v0.6.0", files="^src/"),)))
    assert hooked["format_paths"].commented
    assert hooked["format_paths"].why == (
        "pre-commit hook 'ruff-format' checks its files ^src/: unset, lint keeps to them"
    )
    assert "check_paths" not in hooked  # the project runs no ruff check: nothing to write
    assert set(scope.adopted(OwnCommands())) == {"mypy"}  # no lint command: nothing else
