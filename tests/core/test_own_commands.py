"""The project's own commands, read from what its maintainers already run."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest

from ci_tasks.core import own_commands, workflow_files
from ci_tasks.core.own_commands import Command, Hook
from tests.support.gitsupport import git


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


_UV_TEST = "uv run --all-extras --group test pytest tests"


@pytest.mark.parametrize(
    ("line", "tool", "args", "environment"),
    [
        ("pytest tests", "pytest", ("tests",), ((), False, ())),
        (_UV_TEST, "pytest", ("tests",), ((), True, ("test",))),
        ("uv run --extra=cli python -m pytest -x {posargs}", "pytest", ("-x",), (("cli",), 0, ())),
        ("cd d && uv run ruff format src", "ruff", ("format", "src"), ((), False, ())),
        ("coverage run -m pytest -m 'not slow'", "pytest", ("-m", "not slow"), ((), False, ())),
        ("poetry run black --check .", "black", ("--check", "."), ((), False, ())),
    ],
)  # fmt: skip
def test_a_shell_line_is_read_as_the_tool_it_runs(
    line: str, tool: str, args: tuple[str, ...], environment: tuple[object, ...]
) -> None:
    """Runners before the tool are stripped, and the environment they choose is kept."""
    (command,) = own_commands.parse_line(line, "here")
    assert (command.tool, command.args) == (tool, args)
    assert (command.extras, command.all_extras, command.groups) == environment


def test_lines_that_run_no_known_tool_give_nothing() -> None:
    """``echo`` and ``pip install`` are no tool command of a stage."""
    assert own_commands.parse_line("echo hi && pip install -e .", "here") == []


def test_variables_set_before_the_tool_are_its_environment() -> None:
    """``FOO=1 pytest`` runs pytest with FOO=1."""
    (command,) = own_commands.parse_line("FOO=1 BAR=x pytest", "here")
    assert command.env == (("FOO", "1"), ("BAR", "x"))


def test_paths_skip_option_values_and_the_ruff_subcommand() -> None:
    """``-m 'not slow'`` is a marker expression, not a path; ``format`` is ruff's subcommand."""
    pytest_cmd = Command("pytest", ("-m", "not slow", "tests", "--ignore", "bench", "docs"), "x")
    assert pytest_cmd.paths == ("tests", "docs")
    ruff_cmd = Command("ruff", ("format", "--check", "src", "docs/conf.py"), "x")
    assert (ruff_cmd.subcommand, ruff_cmd.paths) == ("format", ("src", "docs/conf.py"))


def test_every_kind_of_file_is_read_with_its_source(tmp_path: Path) -> None:
    """Justfile, Makefile, tox, hatch, noxfile and workflows each give their commands."""
    _write(
        tmp_path,
        {
            "justfile": "lint:\n    uv run ruff format --check src tests docs/conf.py\n"
            "test *args:\n    uv run --all-extras --group test pytest tests {{args}}\n",
            "Makefile": "check:\n\tmypy src\n",
            "tox.ini": "[tox]\nenvlist = py\n[testenv]\nextras = test\n"
            "setenv =\n    PYTHONWARNINGS=error\ncommands = pytest {posargs:tests}\n",
            "pyproject.toml": '[project]\nname = "x"\n'
            "[tool.hatch.envs.lint]\nscripts.style = 'black --check src'\n",
            "noxfile.py": "import nox\n@nox.session\ndef tests(session):\n"
            "    session.install('.[cli]')\n    session.run('pytest', '-k', 'fast')\n",
            ".github/workflows/ci.yml": "on: push\njobs:\n  test:\n    runs-on: ubuntu-latest\n"
            "    steps:\n      - run: |\n          python -m pytest \\\n            tests/unit\n",
        },
    )
    own = own_commands.read(tmp_path)
    shown = {(c.source, c.shown()) for c in own.commands}
    assert ("justfile recipe 'lint'", "ruff format --check src tests docs/conf.py") in shown
    assert ("justfile recipe 'test'", "pytest tests") in shown
    assert ("Makefile target 'check'", "mypy src") in shown
    assert ("tox.ini [testenv]", "pytest tests") in shown  # {posargs:tests}: tests by default
    assert ("pyproject.toml hatch env 'lint' script 'style'", "black --check src") in shown
    assert ("noxfile.py session 'tests'", "pytest -k fast") in shown
    assert (".github/workflows/ci.yml job 'test'", "pytest tests/unit") in shown
    tox = next(c for c in own.commands if c.source == "tox.ini [testenv]")
    assert (tox.extras, tox.env) == (("test",), (("PYTHONWARNINGS", "error"),))
    nox_cmd = next(c for c in own.commands if c.source.startswith("noxfile.py"))
    assert nox_cmd.extras == ("cli",)
    test = own_commands.test_command(own)
    assert test is not None
    assert (test.source, test.all_extras, test.groups) == (
        "justfile recipe 'test'",
        True,
        ("test",),
    )


def test_tox_toml_and_pyproject_tox_are_read(tmp_path: Path) -> None:
    """The TOML forms of tox give their commands, extras and variables."""
    _write(
        tmp_path,
        {
            "tox.toml": '[env_run_base]\nextras = ["test"]\nset_env = {A = "1"}\n'
            'commands = [["pytest", "{posargs}", "tests"]]\n',
        },
    )
    (command,) = own_commands.read(tmp_path).commands
    assert (command.shown(), command.extras, command.env) == (
        "pytest tests",
        ("test",),
        (("A", "1"),),
    )


_CONSTANTS_NOXFILE = """\
from pathlib import Path

import nox

ROOT = Path(__file__).parent
PYPROJECT = ROOT / "pyproject.toml"
PACKAGE = ROOT / "jsonschema"
DOCS: Path = ROOT.joinpath("docs")
SRC = "src"


def session(python="3.12", **kwargs):
    return lambda fn: nox.session(python=python, **kwargs)(fn)


@session(tags=["style"])
def typing(session):
    session.install("mypy", "types-requests", ROOT)
    session.run("mypy", "--config", PYPROJECT, PACKAGE)


@session()
def style(session):
    session.install(f"{ROOT}[format]", "-r", str(DOCS / "requirements.txt"))
    session.run("ruff", "check", SRC, ROOT, DOCS.joinpath("conf.py"))
    session.run("black", "--check", Path(__file__).resolve().parent / "tests")
"""


def test_noxfile_arguments_naming_module_constants_are_read_as_project_paths(
    tmp_path: Path,
) -> None:
    """``ROOT = Path(__file__).parent`` and what is built on it read as paths from the root.

    The shapes python-jsonschema's noxfile uses: a path constant, ``/``, ``joinpath``,
    ``str()``, an f-string of the root, and plain string constants; the root is ".".
    """
    _write(
        tmp_path,
        {"noxfile.py": _CONSTANTS_NOXFILE, "docs/requirements.txt": "sphinx>=7\n"},
    )
    own = own_commands.read(tmp_path)
    commands = {c.source: c for c in own.commands if c.tool == "mypy"}
    mypy = commands["noxfile.py session 'typing'"]
    assert (mypy.args, mypy.paths) == (
        ("--config", "pyproject.toml", "jsonschema"),
        ("jsonschema",),
    )
    assert (mypy.run, mypy.deps) == (("nox", "-s", "typing"), ("mypy", "types-requests"))
    shown = {(c.source, c.shown()) for c in own.commands}
    assert ("noxfile.py session 'style'", "ruff check src . docs/conf.py") in shown
    assert ("noxfile.py session 'style'", "black --check tests") in shown
    style = next(c for c in own.commands if c.tool == "ruff")
    assert (style.extras, style.deps) == (("format",), ("sphinx>=7",))
    assert own.skipped == ()
    # What a session compares against is the mypy above, with its paths.
    gate = own_commands.gate(own, "mypy")
    assert gate is not None
    assert (gate.tool, gate.paths) == ("mypy", ("jsonschema",))


def test_noxfile_arguments_it_cannot_resolve_are_left_out_never_guessed(
    tmp_path: Path,
) -> None:
    """What the reader cannot know for sure is left out, as any argument no literal is.

    A name bound twice or shadowed by a local, a path outside the project, a call of
    anything else, an f-string with a conversion.
    """
    _write(
        tmp_path,
        {
            "noxfile.py": "import os\nfrom pathlib import Path\nimport nox\n"
            "ROOT = Path(__file__).parent\nSRC = 'src'\nSRC = 'lib'\nTESTS = 'tests'\n"
            "ABOVE = ROOT.parent / 'other'\nUP = ROOT / '../up'\nHOME = Path.home()\n"
            "@nox.session\ndef lint(session):\n    TESTS = 'local'\n"
            "    session.run('ruff', 'check', SRC, TESTS, ABOVE, UP, HOME, os.curdir,\n"
            "                f'{ROOT!r}', 'docs')\n",
        },
    )
    (command,) = own_commands.read(tmp_path).commands
    assert (command.tool, command.args) == ("ruff", ("check", "docs"))


def test_pre_commit_hooks_keep_what_they_pass_and_select(tmp_path: Path) -> None:
    """A hook's id, rev, args, files, exclude, types and extra dependencies are kept."""
    _write(
        tmp_path,
        {
            ".pre-commit-config.yaml": "repos:\n- repo: https://github.com/astral-sh/ruff-pre-commit\n"
            "  rev: v0.6.0\n  hooks:\n  - id: ruff-format\n    args: [--diff]\n"
            "    files: ^src/\n    exclude: ^src/gen/\n    types: [python]\n"
            "  - id: ruff\n    additional_dependencies: [x==1]\n",
        },
    )
    own = own_commands.read(tmp_path)
    gate = own_commands.gate(own, "ruff", "format")
    assert gate == Hook(
        "ruff-format",
        "https://github.com/astral-sh/ruff-pre-commit",
        "v0.6.0",
        ("--diff",),
        "^src/",
        "^src/gen/",
        ("python",),
    )
    check = own_commands.gate(own, "ruff", "check")
    assert isinstance(check, Hook)
    assert check.additional_dependencies == ("x==1",)
    assert own_commands.gate(own, "black") is None


@pytest.mark.parametrize(
    ("name", "text"),
    [
        (".pre-commit-config.yaml", "repos: [\n"),
        ("tox.toml", "env = [\n"),
        ("noxfile.py", "def (:\n"),
        (".github/workflows/ci.yml", "jobs: [\n"),
    ],
)
def test_an_unreadable_file_is_skipped_and_said(tmp_path: Path, name: str, text: str) -> None:
    """A file that cannot be parsed never fails the read: it is named in ``skipped``."""
    _write(tmp_path, {name: text, "justfile": "t:\n  pytest\n"})
    own = own_commands.read(tmp_path)
    assert any(s.startswith(name) for s in own.skipped)
    assert [c.tool for c in own.commands] == ["pytest"]


def test_a_project_without_commands_reads_empty(tmp_path: Path) -> None:
    """Nothing of the project's own: the sessions keep their defaults."""
    _write(tmp_path, {"pyproject.toml": '[project]\nname = "x"\n'})
    own = own_commands.read(tmp_path)
    assert own.empty
    assert own_commands.test_command(own) is None


def test_reading_writes_nothing(tmp_path: Path) -> None:
    """The project's own files are only read: the tree is the same after."""
    _write(
        tmp_path,
        {
            "justfile": "test:\n  pytest\n",
            "noxfile.py": "import nox\n",
            ".pre-commit-config.yaml": "repos: []\n",
            "tox.ini": "[testenv]\ncommands = pytest\n",
        },
    )

    def snapshot() -> dict[str, tuple[int, float]]:
        return {
            str(p.relative_to(tmp_path)): (p.stat().st_size, p.stat().st_mtime)
            for p in tmp_path.rglob("*")
        }

    before = snapshot()
    own_commands.read(tmp_path)
    assert snapshot() == before
    assert not any(p.name == "__pycache__" for p in tmp_path.iterdir())


def test_ci_tasks_config_shows_the_scope_and_where_it_came_from(tmp_path: Path) -> None:
    """`ci-tasks config` lists the files read and each session's scope line."""
    _write(
        tmp_path,
        {
            "pyproject.toml": '[project]\nname = "x"\nversion = "1"\n',
            "justfile": "test:\n    uv run pytest tests\n",
            "tests/test_x.py": "def test_x():\n    pass\n",
        },
    )
    done = subprocess.run(
        [sys.executable, "-m", "ci_tasks.cli", "config", "--project", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    scope = json.loads(done.stdout)["scope"]
    assert scope["read_from"] == ["justfile"]
    assert scope["tests"] == "scope: pytest tests (justfile recipe 'test': pytest tests)"


def test_a_script_the_workflow_runs_is_read_with_its_variables(tmp_path: Path) -> None:
    """`run: scripts/check` reads the script: `ruff format $SOURCE_FILES --diff` over its paths."""
    _write(
        tmp_path,
        {
            "scripts/check": '#!/bin/sh -e\nexport PREFIX=""\nexport SOURCE_FILES="pkg tests"\n'
            "${PREFIX}ruff format $SOURCE_FILES --diff\n${PREFIX}ruff check $SOURCE_FILES\n",
            ".github/workflows/ci.yml": "on: push\njobs:\n  t:\n    runs-on: ubuntu-latest\n"
            '    steps:\n      - run: "scripts/check"\n      - run: sh ./scripts/missing\n',
        },
    )
    own = own_commands.read(tmp_path)
    fmt = own_commands.gate(own, "ruff", "format")
    assert isinstance(fmt, Command)
    assert (fmt.paths, fmt.source) == (
        ("pkg", "tests"),
        "scripts/check (run by .github/workflows/ci.yml job 't')",
    )
    assert own.sources == ("scripts/check",)


def test_tox_env_list_and_factor_conditions_give_each_env_its_commands(tmp_path: Path) -> None:
    """``tests: pytest {posargs:-n auto}`` runs in the envs with the factor, as tox runs it."""
    _write(
        tmp_path,
        {
            "tox.ini": "[tox]\nenv_list =\n    lint\n    py3{10,11}-tests\n    3.1{2-3}-mypy\n"
            "[testenv]\ndependency_groups =\n    tests: tests\n    mypy: mypy\n"
            "deps = pretend\ncommands =\n    tests: pytest {posargs:-n auto}\n"
            "    mypy: mypy src\n[testenv:lint]\ncommands = ruff check .\n",
        },
    )
    own = own_commands.read(tmp_path)
    runs = {(c.tool, c.run[-1], c.python) for c in own.commands}
    assert runs == {
        ("ruff", "lint", None),
        ("pytest", "py310-tests", "3.10"),
        ("pytest", "py311-tests", "3.11"),
        ("mypy", "3.12-mypy", "3.12"),
        ("mypy", "3.13-mypy", "3.13"),
    }
    test = own_commands.test_command(own, "3.11")
    assert test is not None
    assert (test.run, test.args, test.groups, test.deps) == (
        ("tox", "run", "-e", "py311-tests"),
        ("-n", "auto"),
        ("tests",),
        ("pretend",),
    )
    mypy = own_commands.gate(own, "mypy", python="3.13")
    assert isinstance(mypy, Command)
    assert mypy.run[-1] == "3.13-mypy"


def test_a_workflow_is_read_as_its_runner_runs_it(tmp_path: Path) -> None:
    """Matrix values, make and poe are followed; installs give the env; other checkouts not."""
    _write(
        tmp_path,
        {
            "Makefile": "check:\n\truff check src\n",
            "requirements.txt": "-e .[cli]\ntrio==0.31\n",
            "pyproject.toml": '[project]\nname = "x"\n[tool.poe.tasks]\ntest = "pytest tests"\n',
            ".github/workflows/ci.yml": "on: push\njobs:\n  ci:\n    runs-on: ubuntu-latest\n"
            "    strategy:\n      matrix:\n        python: ['3.10', '3.11']\n"
            "        task: [test]\n    steps:\n"
            "      - run: pip install -r requirements.txt\n"
            "      - run: uv run --python ${{ matrix.python }} poe ${{ matrix.task }}\n"
            "      - run: make check\n"
            "      - run: pytest other\n        working-directory: ./elsewhere\n",
        },
    )
    own = own_commands.read(tmp_path)
    test = own_commands.test_command(own)
    assert test is not None
    assert test.source.startswith("pyproject.toml poe task 'test' (run by .github/")
    assert (test.args, test.extras, test.deps) == (("tests",), ("cli",), ("trio==0.31",))
    assert test.run[-1].endswith(f"uv run --python {own_commands.PYTHON_PLACEHOLDER} poe test")
    assert test.run[-1].startswith("pip install -r requirements.txt\n")
    ruff = next(c for c in own.of("ruff") if c.source == "Makefile target 'check'")
    assert ruff.run == ("bash", "-ec", "pip install -r requirements.txt\nmake check")
    assert all("other" not in c.args for c in own.commands)


def test_a_frozen_hook_rev_gives_its_version_and_its_file_types(tmp_path: Path) -> None:
    """``rev: <sha>  # frozen: v0.9.1`` is ruff 0.9.1; ruff's hooks see .py, .pyi, .ipynb."""
    _write(
        tmp_path,
        {
            ".pre-commit-config.yaml": "repos:\n- repo: https://github.com/astral-sh/ruff-pre-commit\n"
            "  rev: 0123456789abcdef0123456789abcdef01234567  # frozen: v0.9.1\n"
            "  hooks:\n  - id: ruff-format\n  - id: ruff\n    types: [python]\n",
        },
    )
    fmt, check = own_commands.read(tmp_path).hooks
    assert (fmt.version, check.version) == ("0.9.1", "0.9.1")
    assert fmt.suffixes == (".py", ".pyi", ".ipynb")
    assert check.suffixes == (".py",)


def test_a_word_that_names_nothing_in_the_project_is_not_a_test_path(tmp_path: Path) -> None:
    """``--cov-context test`` with no ``test`` folder: a value of an option, not a path."""
    from ci_tasks.stages.testing import scope  # noqa: PLC0415 - the tests session's reader

    (tmp_path / "tests").mkdir()
    args = ("--cov-contexts", "test", "tests", "-m", "not slow", "{toxinidir}/docs")
    assert scope.selected(args, tmp_path) == ("tests", "-m", "not slow")
    assert scope.selected(args) == ("test", "tests", "-m", "not slow", "{toxinidir}/docs")


def test_poetry_install_gives_every_group_that_is_not_optional(tmp_path: Path) -> None:
    """``poetry install`` in a workflow: its groups' constraints, in PEP 440, are the deps."""
    _write(
        tmp_path,
        {
            "pyproject.toml": '[project]\nname = "x"\n'
            '[tool.poetry.group.test.dependencies]\npytest = "^8.1"\ntomli-w = "~1.0"\n'
            'mypy = { version = ">=1.18", markers = "python_version >= \'3.10\'" }\n'
            'local = { path = "../local" }\n'
            "[tool.poetry.group.docs]\noptional = true\n"
            '[tool.poetry.group.docs.dependencies]\nsphinx = "*"\n',
            ".github/workflows/ci.yml": "on: push\njobs:\n  t:\n    runs-on: ubuntu-latest\n"
            "    steps:\n      - run: poetry install\n      - run: poetry run pytest tests\n",
        },
    )
    test = own_commands.test_command(own_commands.read(tmp_path))
    assert test is not None
    assert test.deps == (
        "pytest>=8.1,<9",
        "tomli-w>=1.0,<1.1",
        "mypy>=1.18; python_version >= '3.10'",
    )


def test_a_mypy_hook_without_args_runs_with_its_manifests_args(tmp_path: Path) -> None:
    """mirrors-mypy with no ``args`` runs ``--ignore-missing-imports``; ``args: []`` runs none."""
    mirror = "- repo: https://github.com/pre-commit/mirrors-mypy\n  rev: v1.19.1\n  hooks:\n"
    local = "- repo: local\n  hooks:\n  - id: mypy\n    entry: mypy\n    language: system\n"
    _write(
        tmp_path,
        {
            ".pre-commit-config.yaml": f"repos:\n{mirror}  - id: mypy\n"
            f"{mirror}  - id: mypy\n    args: []\n{local}",
        },
    )
    default, emptied, own = own_commands.read(tmp_path).hooks
    assert default.args == ("--ignore-missing-imports",)
    assert emptied.args == ()
    assert own.args == ()


def test_a_read_is_kept_only_while_every_file_it_read_is_unchanged(tmp_path: Path) -> None:
    """Asked again, read() gives its last answer, until a file it read (or could have) changes.

    The files changed here are each of another kind: one it followed from a command (a
    requirements file), one that was absent, and a new workflow in the folder.
    """
    _write(
        tmp_path,
        {
            "tox.ini": "[testenv]\ndeps = -r requirements.txt\ncommands = pytest tests\n",
            "requirements.txt": "trio==0.31\n",
            "tests/test_x.py": "",
        },
    )
    first = own_commands.read(tmp_path)
    assert own_commands.read(tmp_path) is first  # kept: nothing it read changed
    (tmp_path / "requirements.txt").write_text("trio==0.32\n", encoding="utf-8")  # same size
    second = own_commands.read(tmp_path)
    assert [c.deps for c in second.commands] == [("trio==0.32",)]
    (tmp_path / "Makefile").write_text("lint:\n\truff check src\n", encoding="utf-8")
    third = own_commands.read(tmp_path)
    assert [c.tool for c in third.commands] == ["ruff", *[c.tool for c in second.commands]]
    _write(
        tmp_path,
        {
            ".github/workflows/t.yml": "on: push\njobs:\n  t:\n    runs-on: ubuntu-latest\n"
            "    steps:\n      - run: mypy src\n",
        },
    )
    assert "mypy" in [c.tool for c in own_commands.read(tmp_path).commands]


_KEPT_PROJECT = {
    ".ci-tasks/.gitignore": "*\n",
    "tox.ini": "[testenv]\ncommands = pytest tests\n",
    ".pre-commit-config.yaml": "repos:\n- repo: https://github.com/astral-sh/ruff-pre-commit\n"
    "  rev: v0.9.1\n  hooks:\n  - id: ruff-format\n    args: [--check]\n",
    ".github/workflows/t.yml": "on: push\njobs:\n  t:\n    runs-on: ubuntu-latest\n"
    "    steps:\n      - run: mypy src\n",
}


def _read_in_a_new_process(root: Path) -> dict[str, object]:
    """read() in a fresh interpreter: what it found, and whether it had to parse YAML."""
    code = (
        "import dataclasses, json, sys\n"
        "from pathlib import Path\n"
        "from ci_tasks.core import own_commands\n"
        "found = own_commands.read(Path(sys.argv[1]))\n"
        "print(json.dumps({'found': dataclasses.asdict(found), 'yaml': 'yaml' in sys.modules}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(root)], capture_output=True, text=True, check=True
    )
    *said, last = done.stdout.splitlines()
    return {**json.loads(last), "said": said}


def test_a_read_is_kept_in_the_projects_ci_tasks_folder_for_the_next_start(tmp_path: Path) -> None:
    """The next nox start gives the kept read, parsing nothing, until a file it read changes."""
    _write(tmp_path, _KEPT_PROJECT)
    first = _read_in_a_new_process(tmp_path)
    assert first["yaml"] is True  # parsed: the workflow and the pre-commit configuration
    kept = tmp_path / ".ci-tasks/cache/own-commands.json"
    assert kept.is_file()
    assert "mypy src" not in kept.read_text(encoding="utf-8").split('"seen"')[1]  # digests only
    again = _read_in_a_new_process(tmp_path)
    assert again == {"found": first["found"], "yaml": False, "said": []}
    here = dataclasses.asdict(own_commands.read(tmp_path))  # this process: read from the copy
    assert json.loads(json.dumps(here)) == first["found"]
    assert [c["tool"] for c in here["commands"]] == ["pytest", "mypy"]
    assert own_commands.read(tmp_path).hooks[0].args == ("--check",)  # tuples, as parsed
    _write(tmp_path, {".pre-commit-config.yaml": "repos: []\n"})
    changed = _read_in_a_new_process(tmp_path)
    assert changed["yaml"] is True
    assert changed["found"]["hooks"] == []


def test_an_unreadable_kept_read_is_set_aside_and_the_project_read_afresh(tmp_path: Path) -> None:
    """A damaged copy is never trusted; a project without a .ci-tasks folder gets none."""
    _write(tmp_path, _KEPT_PROJECT)
    kept = tmp_path / ".ci-tasks/cache/own-commands.json"
    expected = _read_in_a_new_process(tmp_path)["found"]
    kept.write_text('{"schema": "ci-tasks/own-commands", "version": 1', encoding="utf-8")
    afresh = _read_in_a_new_process(tmp_path)
    assert (afresh["found"], afresh["yaml"]) == (expected, True)
    assert "own-commands.json was unreadable" in "\n".join(afresh["said"])  # type: ignore[arg-type]
    assert [p.name.split(".corrupt-")[0] for p in kept.parent.glob("*.corrupt-*")] == [kept.name]
    assert json.loads(kept.read_text(encoding="utf-8"))["schema"] == "ci-tasks/own-commands"
    bare = tmp_path / "bare"
    _write(bare, {"tox.ini": _KEPT_PROJECT["tox.ini"]})
    assert [c.tool for c in own_commands.read(bare).commands] == ["pytest"]
    assert not (bare / ".ci-tasks").exists()  # reading never makes the folder


def test_a_workflow_ci_tasks_wrote_is_not_read_as_the_projects_commands(tmp_path: Path) -> None:
    """ci.yml from `ci-tasks init` runs ci_tasks' sessions: none of its lines is the project's."""
    job = "on: push\njobs:\n  t:\n    runs-on: ubuntu-latest\n    steps:\n      - run: pytest x\n"
    _write(tmp_path, {"x/test_x.py": "", ".github/workflows/ci.yml": job})
    assert [c.tool for c in own_commands.read(tmp_path).commands] == ["pytest"]
    _write(tmp_path, {".github/workflows/ci.yml": f"{workflow_files.GENERATED}. Every job\n{job}"})
    assert own_commands.read(tmp_path).commands == ()


def test_a_kept_read_never_shows_in_git_where_the_project_commits_its_ci_tasks_folder(
    tmp_path: Path,
) -> None:
    """A committed .ci-tasks/ without its .gitignore: the copy is ignored, the tree stays clean."""
    files = {k: v for k, v in _KEPT_PROJECT.items() if k != ".ci-tasks/.gitignore"}
    _write(tmp_path, {**files, ".ci-tasks/old-report.json": "{}\n"})
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-qm", "init")
    _read_in_a_new_process(tmp_path)
    assert (tmp_path / ".ci-tasks/cache/own-commands.json").is_file()
    assert git(tmp_path, "status", "--porcelain", "--untracked-files=all") == ""
