"""Reading the tool pins of ``.pre-commit-config.yaml``, and writing them into the CI block."""

from __future__ import annotations

import pytest

from ci_tasks.adopt import scriptenv
from ci_tasks.core.errors import ConfigError
from ci_tasks.core.pins import Pin, ci_pins, locked_groups, parse_pre_commit

CONFIG = """\
repos:
  - repo: https://github.com/pre-commit/pre-commit-hooks
    rev: v5.0.0
    hooks:
      - id: trailing-whitespace
  - repo: https://github.com/astral-sh/ruff-pre-commit
    rev: v0.15.16
    hooks:
      - id: ruff
        args: [--fix]
      - id: ruff-format
  - repo: https://github.com/pre-commit/mirrors-mypy
    rev: 'v1.11.2'
    hooks:
      - id: mypy
        additional_dependencies: [types-requests, "attrs>=23"]
"""


def test_revs_of_ruff_and_mypy_hooks_are_pins():
    """ruff-pre-commit and mirrors-mypy revs pin the tools; mypy's extra deps come along."""
    assert parse_pre_commit(CONFIG) == {
        "ruff": Pin("ruff", "0.15.16", 7),
        "mypy": Pin("mypy", "1.11.2", 13, ("types-requests", "attrs>=23")),
    }


@pytest.mark.parametrize("repo", ["psf/black-pre-commit-mirror", "psf/black"])
def test_a_black_hooks_rev_pins_black(repo):
    """Black's mirror (and its own repository) pin black by their rev."""
    text = f"repos:\n  - repo: https://github.com/{repo}\n    rev: 24.8.0\n    hooks: [{{id: b}}]\n"
    assert parse_pre_commit(text) == {"black": Pin("black", "24.8.0", 3)}


@pytest.mark.parametrize(
    "text",
    [
        "repos: []\n",
        "",
        "repos:\n  - repo: https://github.com/astral-sh/ruff-pre-commit\n    rev: main\n",
        "repos:\n  - repo: local\n    hooks: [{id: ruff}]\n",
    ],
)
def test_no_version_no_pin(text):
    """No hook, a branch rev, or a local hook pins nothing installable."""
    assert parse_pre_commit(text) == {}


def test_invalid_yaml_names_the_file_and_line():
    """A broken pre-commit file is a one-line configuration error naming it."""
    with pytest.raises(ConfigError, match=r"^\.pre-commit-config\.yaml:3: not valid YAML"):
        parse_pre_commit("repos:\n  - [a\n  b: c\n")


def test_a_tool_uv_lock_pins_is_left_to_uv_lock(tmp_path):
    """ci_pins leaves out a tool the project's uv.lock locks in a group."""
    (tmp_path / ".pre-commit-config.yaml").write_text(CONFIG)
    (tmp_path / "pyproject.toml").write_text('[dependency-groups]\nlint = ["ruff==0.15.0"]\n')
    (tmp_path / "uv.lock").write_text('[[package]]\nname = "ruff"\nversion = "0.15.0"\n')
    assert [p.tool for p in ci_pins(tmp_path)] == ["mypy"]


SPEC = scriptenv.ScriptSpec(">=3.11", ("ci-tasks==1.0", "nox==2025.1"))
PINS = (Pin("ruff", "0.5.0"), Pin("mypy", "1.11.2", extras=("types-requests",)))


def test_pins_become_overrides_and_extras_dependencies():
    """A pin below ci-tasks' own floor is an override; mypy's extras are dependencies."""
    block = scriptenv.render_block(scriptenv.ScriptSpec(**{**SPEC.__dict__, "pins": PINS}))
    assert scriptenv.read_block(block) == {
        "requires-python": ">=3.11",
        "dependencies": ["ci-tasks==1.0", "nox==2025.1", "types-requests"],
        "tool": {"uv": {"override-dependencies": ["ruff==0.5.0", "mypy==1.11.2"]}},
    }


def test_a_tool_ci_tasks_does_not_require_is_a_dependency_not_an_override():
    """Black is no requirement of ci-tasks: an override would install nothing, so it is added."""
    pins = (Pin("black", "24.8.0"), Pin("ruff", "0.5.0"))
    plain = scriptenv.render_block(SPEC) + "import nox\n"
    pinned = scriptenv.apply_pins(plain, pins)
    assert scriptenv.read_block(pinned) == {
        "requires-python": ">=3.11",
        "dependencies": ["ci-tasks==1.0", "nox==2025.1", "black==24.8.0"],
        "tool": {"uv": {"override-dependencies": ["ruff==0.5.0"]}},
    }
    assert scriptenv.apply_pins(pinned, pins) == pinned
    assert scriptenv.apply_pins(pinned, ()) == plain


def test_applying_pins_again_replaces_only_what_it_wrote():
    """Same pins: same text; new pins replace old; none leaves the block as it was."""
    plain = scriptenv.render_block(SPEC) + "import nox\n"
    pinned = scriptenv.apply_pins(plain, PINS)
    assert scriptenv.apply_pins(pinned, PINS) == pinned
    bumped = scriptenv.apply_pins(pinned, (Pin("ruff", "0.15.16"),))
    assert scriptenv.read_block(bumped)["tool"] == {
        "uv": {"override-dependencies": ["ruff==0.15.16"]}
    }
    assert "types-requests" not in bumped
    assert scriptenv.apply_pins(pinned, ()) == plain


def test_the_projects_own_tool_uv_table_is_kept():
    """An existing [tool.uv] table in the block gets the overrides added, its keys kept."""
    text = (
        '# /// script\n# dependencies = [\n#     "nox",\n# ]\n#\n'
        '# [tool.uv]\n# exclude-newer = "2026-01-01T00:00:00Z"\n# ///\n'
    )
    pinned = scriptenv.apply_pins(text, PINS[:1])
    assert scriptenv.read_block(pinned)["tool"]["uv"] == {
        "override-dependencies": ["ruff==0.5.0"],
        "exclude-newer": "2026-01-01T00:00:00Z",
    }
    assert scriptenv.apply_pins(pinned, ()) == text


@pytest.mark.parametrize(
    "block",
    [
        '# dependencies = ["nox>=2025.02.09"]\n',
        '# dependencies = ["nox>=2025.02.09",]  # ours\n',
        '# requires-python = ">=3.11"\n# dependencies = [ "nox>=2025.02.09" ]\n',
        (
            '# dependencies = ["nox>=2025.02.09",\n#   ]\n#\n'
            '# [tool.uv]\n# override-dependencies = ["x==1"]\n'
        ),
        '# dependencies = [\n#   "nox>=2025.02.09"]  # a comment\n',
    ],
)
def test_any_valid_array_layout_takes_the_pins(block):
    """A one-line array, a trailing comma, comments, a one-line override: pins go in, once."""
    text = f"# /// script\n{block}# ///\nimport nox\n"
    pinned = scriptenv.apply_pins(text, PINS)
    data = scriptenv.read_block(pinned)
    assert data["dependencies"] == ["nox>=2025.02.09", "types-requests"]
    overrides = data["tool"]["uv"]["override-dependencies"]
    assert [o for o in overrides if o != "x==1"] == ["ruff==0.5.0", "mypy==1.11.2"]
    assert pinned.endswith("# ///\nimport nox\n")
    assert scriptenv.apply_pins(pinned, PINS) == pinned


UV_LOCK = """\
version = 1
requires-python = ">=3.11"

[[package]]
name = "ruff"
version = "0.15.16"
source = { registry = "https://pypi.org/simple" }

[[package]]
name = "typing-extensions"
version = "4.12.2"
source = { registry = "https://pypi.org/simple" }
dependencies = [{ name = "ruff" }]
"""

DOCUMENT = {"dependency-groups": {"dev": ["Ruff>=0.15"], "types": ["typing_extensions"]}}


def test_a_lock_as_uv_writes_it_is_read_by_its_layout():
    """Every ``[[package]]`` starts with its name: the names, normalised, without a parse."""
    assert locked_groups(DOCUMENT, UV_LOCK, "ruff") == ("dev",)
    assert locked_groups(DOCUMENT, UV_LOCK, "typing-extensions") == ("types",)
    assert locked_groups(DOCUMENT, UV_LOCK, "mypy") == ()


def test_a_lock_in_another_layout_is_parsed():
    """A package table whose name is not its first key (a hand edit) still counts."""
    edited = UV_LOCK.replace(
        'name = "ruff"\nversion = "0.15.16"', 'version = "0.15.16"\nname = "ruff"'
    )
    assert edited != UV_LOCK
    assert locked_groups(DOCUMENT, edited, "ruff") == ("dev",)
    # And one TOML cannot read locks nothing (uv lock --check reports it).
    assert locked_groups(DOCUMENT, edited + "[[package]\n", "ruff") == ()


def test_a_frozen_commit_rev_pins_the_version_its_comment_names() -> None:
    """``rev: <sha>  # frozen: v0.15.15`` (pre-commit autoupdate --freeze) pins ruff 0.15.15."""
    text = (
        "repos:\n- repo: https://github.com/astral-sh/ruff-pre-commit\n"
        '  rev: "0671d8ab202c4ac093b78433ae5baf74f3fc7246" # frozen: v0.15.15\n'
        "  hooks:\n  - id: ruff-check\n"
    )
    assert parse_pre_commit(text)["ruff"].version == "0.15.15"
