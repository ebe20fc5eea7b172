"""Lint's scope comes from the project's own gates."""

from __future__ import annotations

from ci_tasks.core.own_commands import Command, Hook, OwnCommands
from ci_tasks.stages.lint import scope


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


def test_old_style_ruff_is_ruff_check_over_its_paths():
    """`ruff src` (no subcommand) is ruff check of src."""
    chosen = scope.choose(OwnCommands(commands=(Command("ruff", ("src",), "Makefile"),)))
    assert chosen.check is not None
    assert chosen.check.paths == ("src",)
