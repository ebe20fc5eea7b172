"""The readers of the project's own files: they only read, and what they cannot read is said."""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path

import pytest

from ci_tasks.adopt import existing, init, parity
from ci_tasks.core import coverage_evidence, own_commands, pins, pytest_files
from ci_tasks.core.actions import Output
from ci_tasks.core.config import load_config
from ci_tasks.stages import lint
from ci_tasks.stages.lint import scope as lint_scope
from ci_tasks.stages.lint import toolchain
from ci_tasks.stages.testing import pytest_config
from ci_tasks.stages.testing import scope as tests_scope
from tests.adopt.test_init import PYPROJECT, _sample

# A project with one file of every kind the readers read, and a script they follow.
PROJECT = {
    "pyproject.toml": (
        '[project]\nname = "p"\nversion = "0"\nrequires-python = ">=3.11"\n\n'
        '[dependency-groups]\nlint = ["black==24.8.0", "mypy"]\n\n'
        '[tool.pytest.ini_options]\naddopts = "--strict-markers -n 2"\n\n'
        "[tool.coverage.report]\nfail_under = 80\n\n"
        '[tool.hatch.envs.test.scripts]\ncov = "pytest --cov tests"\n\n'
        '[tool.poe.tasks]\ncheck = "ruff check src"\n'
    ),
    "uv.lock": 'version = 1\n\n[[package]]\nname = "black"\nversion = "24.8.0"\n',
    "tox.ini": "[tox]\nenv_list = py311\n\n[testenv]\ndeps = -r requirements-test.txt\n"
    "commands = pytest {posargs:tests}\n",
    "tox.toml": 'env_list = ["lint"]\n[env.lint]\ncommands = [["mypy", "src"]]\n',
    "requirements-test.txt": "pytest-socket\n-e .[test]\n",
    "noxfile.py": "import nox\n\n@nox.session(python=['3.11'])\ndef tests(session):\n"
    "    session.install('.[test]')\n    session.run('pytest', 'tests')\n",
    "justfile": "lint:\n    black --check src tests\n    mypy src\n    ./scripts/check\n",
    "Makefile": "test:\n\tpoe check\n",
    "scripts/check": "#!/bin/sh\nSRC=src\nruff check $SRC\n",
    ".pre-commit-config.yaml": "repos:\n- repo: https://github.com/psf/black-pre-commit-mirror\n"
    "  rev: 24.8.0\n  hooks:\n  - id: black\n"
    "- repo: https://github.com/pre-commit/mirrors-mypy\n  rev: v1.11.2\n  hooks:\n"
    "  - id: mypy\n    additional_dependencies: [types-requests]\n",
    ".github/workflows/tests.yml": "on: push\njobs:\n  tests:\n    runs-on: ${{ matrix.os }}\n"
    "    strategy:\n      matrix:\n        os: [ubuntu-latest, windows-latest]\n"
    '        python: ["3.10", "3.12"]\n    steps:\n      - uses: actions/setup-python@v5\n'
    "        with:\n          python-version: ${{ matrix.python }}\n"
    "      - run: pip install -e .[test] pytest-cov\n      - run: just lint\n"
    "      - run: pytest --cov\n",
    ".github/workflows/broken.yml": "jobs: [\n",
    "tests/test_p.py": "def test_p():\n    pass\n",
}


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def _snapshot(root: Path) -> dict[str, tuple[int, str]]:
    """Every path under *root*: its modification time and its content's hash (dirs: "")."""
    found = {}
    for folder, dirs, files in os.walk(root):
        for name in [*dirs, *files]:
            path = Path(folder, name)
            digest = "" if path.is_dir() else hashlib.sha256(path.read_bytes()).hexdigest()
            found[path.relative_to(root).as_posix()] = (path.stat().st_mtime_ns, digest)
    return found


def test_the_readers_write_nothing(tmp_path, monkeypatch):
    """Every reader of the project's files leaves the tree as it was: no file added or changed."""
    monkeypatch.delenv("PYTEST_ADDOPTS", raising=False)
    _write(tmp_path, PROJECT)
    (tmp_path / "scripts/check").chmod(0o755)
    before = _snapshot(tmp_path)
    own = own_commands.read(tmp_path)
    assert {c.tool for c in own.commands} >= {"pytest", "ruff", "black", "mypy"}  # all read
    assert own.skipped == (".github/workflows/broken.yml: not readable YAML",)
    matrix = existing.read(tmp_path)
    assert [f.value for f in matrix.oses] == ["ubuntu-latest", "windows-latest"]
    assert [f.value for f in matrix.pythons] == ["3.10", "3.12"]
    assert set(pins.read_pre_commit(tmp_path)) == {"black", "mypy"}
    assert [p.tool for p in pins.ci_pins(tmp_path)] == ["mypy"]  # uv.lock locks black
    floor = "fail_under = 80 in pyproject.toml [tool.coverage.report]"
    assert coverage_evidence.evidence(tmp_path, None) == floor
    assert pytest_files.addopts(tmp_path) == ["--strict-markers", "-n", "2"]
    assert pytest_config.strictness(tmp_path, setting="auto").flags == ("--strict-markers",)
    assert toolchain.runs_mypy(tmp_path, setting="auto")
    toolchain.needs_env(tmp_path, mypy=True)  # reads uv.lock, the hooks and the commands
    assert lint_scope.choose(own).black is not None
    assert tests_scope.choose(own, tmp_path).args == ("tests",)
    assert parity.pairs(own, "3.11")
    assert own_commands.table(tmp_path, "tool", "coverage", "report") == {"fail_under": 80}
    assert _snapshot(tmp_path) == before


@pytest.mark.parametrize(
    ("files", "said"),
    [
        ({"tox.ini": "[testenv\ncommands = pytest\n"}, "tox.ini: not readable as INI"),
        ({".github/workflows/ci.yml": "on: push\n"}, ".github/workflows/ci.yml: no jobs mapping"),
        (
            {"pyproject.toml": '[tool.tox]\nlegacy_tox_ini = "[tox]"\n'},
            "pyproject.toml [tool.tox] legacy_tox_ini",
        ),
    ],
)
def test_more_shapes_are_skipped_and_said(tmp_path, files, said):
    """An INI that is not INI, a workflow with no jobs, tox's legacy string: said, not fatal."""
    _write(tmp_path, {**files, "justfile": "t:\n  pytest\n"})
    own = own_commands.read(tmp_path)
    assert [s for s in own.skipped if s.startswith(said)], own.skipped
    assert [c.tool for c in own.commands] == ["pytest"]


@pytest.mark.parametrize(
    "name", ["noxfile.py", "tox.ini", ".pre-commit-config.yaml", ".github/workflows/ci.yml"]
)
def test_a_file_not_utf8_is_skipped_and_said(tmp_path, name):
    """A file that is not UTF-8 text is named in ``skipped``; the others are still read."""
    _write(tmp_path, {"justfile": "t:\n  pytest\n"})
    (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / name).write_bytes(b"\xff\xfe not text\n")
    own = own_commands.read(tmp_path)
    assert [s for s in own.skipped if s.startswith(name)], own.skipped
    assert [c.tool for c in own.commands] == ["pytest"]


def test_a_pyproject_value_of_the_wrong_type_is_no_table(tmp_path):
    """``[tool] mypy = 1`` or a pyproject that is not TOML reads as no table, never a crash."""
    _write(tmp_path, {"pyproject.toml": "[tool]\nmypy = 1\n"})
    assert own_commands.table(tmp_path, "tool", "mypy") == {}
    assert own_commands.table(tmp_path, "tool") == {"mypy": 1}
    _write(tmp_path, {"pyproject.toml": "[tool\n"})
    assert own_commands.pyproject(tmp_path) == {}
    assert own_commands.table(tmp_path, "tool", "mypy") == {}


def test_a_workflow_the_matrix_cannot_read_is_said_by_init(tmp_path):
    """Init keeps the matrix of the workflows it can read and names the one it cannot."""
    sample = _sample(tmp_path, PYPROJECT.replace('">=3.11,<3.12"', '">=3.11"'))
    sample.write(".github/workflows/broken.yml", "jobs: [\n")
    sample.write(
        ".github/workflows/tests.yml",
        "jobs:\n  tests:\n    runs-on: windows-latest\n    steps:\n      - run: pytest\n",
    )
    broken = ".github/workflows/broken.yml: not readable YAML"
    assert existing.read(sample.path).skipped == (broken,)
    stream = io.StringIO()
    init.run(sample.path, out=Output(stream=stream, env={}), update_lock=False)
    out = stream.getvalue()
    assert f"matrix not read from {broken}" in out
    assert load_config(sample.path).os == ("windows-latest",)


def test_the_hook_table_is_the_one_lint_parity_and_pins_use(tmp_path):
    """Each known hook id names its tool, subcommand, files and role; gate() goes by it."""
    assert own_commands.hook_ids("ruff", "check") == ("ruff", "ruff-check")
    assert own_commands.hook_ids("ruff", "format") == ("ruff-format",)
    assert own_commands.HOOK_TOOLS["black"].role == "formatter"
    assert own_commands.HOOK_TOOLS["mypy"].suffixes == (".py", ".pyi")
    _write(tmp_path, {".pre-commit-config.yaml": PROJECT[".pre-commit-config.yaml"]})
    own = own_commands.read(tmp_path)
    gate = own_commands.gate(own, "black")
    assert isinstance(gate, own_commands.Hook)
    assert gate.line == 3  # its repository's rev, where a pin finding points
    assert lint_scope.from_own(own).formatter == "black"


def test_lint_registration_reads_the_projects_commands_once(tmp_path, monkeypatch):
    """Registering lint asks two questions of the project's commands and reads them once."""
    _write(tmp_path, {k: v for k, v in PROJECT.items() if "workflows" not in k})
    reads: list[Path] = []
    real = own_commands.read

    def counted(root: Path) -> own_commands.OwnCommands:
        reads.append(root)
        return real(root)

    monkeypatch.setattr(own_commands, "read", counted)
    config = load_config(tmp_path / "pyproject.toml")
    lint.register(config)
    assert reads == [tmp_path]  # mypy (auto) and black (locked): both need them
