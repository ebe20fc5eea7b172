"""`ci-tasks init` on sample projects: what it writes, what it keeps, and that the result runs."""

from __future__ import annotations

import io
import json
import tomllib
from pathlib import Path

import pytest
import yaml

from ci_tasks.adopt import init, project
from ci_tasks.core.actions import Output
from ci_tasks.core.errors import ConfigError
from tests.support.sample import make_project

REPO = Path(__file__).resolve().parents[2]

PYPROJECT = """\
[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"

[project]
name = "sample"  # the name people install
version = "0.1.0"
# One Python keeps the end-to-end run to one test environment.
requires-python = ">=3.11,<3.12"
dependencies = []

[dependency-groups]
dev = [
    "pytest==9.2.0",  # the test runner
]
"""

GENERATED = [
    "noxfile.py",
    "tasks.py",
    ".github/workflows/ci.yml",
    ".github/workflows/update-readiness.yml",
    ".github/workflows/staging-smoke-test.yml",
    ".github/dependabot.yml",
]


def _sample(tmp_path, pyproject=PYPROJECT):
    sample = make_project(tmp_path, files={"pyproject.toml": pyproject}, lock=False)
    (sample.path / "noxfile.py").unlink()  # an adopter starts without one
    return sample


def _snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def _init(root: Path, **kwargs) -> tuple[init.Plan, str]:
    stream = io.StringIO()
    kwargs.setdefault("update_lock", False)
    result = init.run(root, out=Output(stream=stream, env={}), **kwargs)
    return result, stream.getvalue()


def test_init_writes_every_file_and_keeps_pyproject_comments(tmp_path):
    """Every file is written; pyproject.toml keeps its comments and gains the dev pins and table."""
    sample = _sample(tmp_path)
    _, shown = _init(sample.path)
    for relative in GENERATED:
        assert (sample.path / relative).is_file(), relative
        assert f"created  {relative}" in shown
    assert (sample.path / "noxfile.py").read_text() == init.NOXFILE
    text = (sample.path / "pyproject.toml").read_text()
    assert text.startswith(PYPROJECT.split("[dependency-groups]", maxsplit=1)[0])
    assert '"pytest==9.2.0",  # the test runner' in text
    data = tomllib.loads(text)
    dev = data["dependency-groups"]["dev"]
    assert dev[0] == "pytest==9.2.0"
    assert init.default_requirement() in dev
    assert any(d.startswith("nox==") for d in dev)
    assert "ruff==0.17.6" in dev
    table = data["tool"]["ci-tasks"]
    assert table["python"] == ["3.11"]  # from requires-python
    assert table["timeouts"]["tests"] == 1800
    assert "# Extra environment variables whose values are masked" in text
    ignored = (sample.path / ".gitignore").read_text().splitlines()[-3:]
    assert ignored == [".ci-tasks/", ".nox/", "dist/"]


def test_running_init_twice_changes_nothing(tmp_path):
    """A second run writes no file and reports every one unchanged."""
    sample = _sample(tmp_path)
    _init(sample.path)
    before = _snapshot(sample.path)
    result, shown = _init(sample.path)
    assert _snapshot(sample.path) == before
    assert {c.action for c in result.changes} == {"unchanged"}
    assert "created" not in shown
    assert "updated" not in shown


def test_an_existing_noxfile_is_kept_and_reported(tmp_path):
    """A project's own noxfile.py is left alone; the run says it skipped it, and succeeds."""
    sample = _sample(tmp_path)
    own = '"""My sessions."""\n\nimport nox\n'
    (sample.path / "noxfile.py").write_text(own)
    done = sample.ci_tasks("init", "--no-lock")
    assert done.returncode == 0, done.stderr
    assert (sample.path / "noxfile.py").read_text() == own
    assert "skipped  noxfile.py" in done.stdout
    assert "ci_tasks.register()" in done.stdout  # it says how to get the sessions anyway
    assert (sample.path / ".github/workflows/ci.yml").is_file()


def test_force_overwrites_and_keeps_a_backup(tmp_path):
    """--force replaces a differing file and keeps the old one as .bak (then .bak.1)."""
    sample = _sample(tmp_path)
    (sample.path / "noxfile.py").write_text("# first\n")
    _init(sample.path, force=True)
    assert (sample.path / "noxfile.py").read_text() == init.NOXFILE
    assert (sample.path / "noxfile.py.bak").read_text() == "# first\n"
    (sample.path / "noxfile.py").write_text("# second\n")
    _, shown = _init(sample.path, force=True)
    assert (sample.path / "noxfile.py.bak.1").read_text() == "# second\n"
    assert "backup: noxfile.py.bak.1" in shown
    _, shown = _init(sample.path, force=True)  # nothing differs now: no further backup
    assert not (sample.path / "noxfile.py.bak.2").exists()


def test_dry_run_prints_and_writes_nothing(tmp_path):
    """--dry-run shows each file and the pyproject diff, and leaves the project as it was."""
    sample = _sample(tmp_path)
    before = _snapshot(sample.path)
    done = sample.ci_tasks("init", "--dry-run")
    assert done.returncode == 0, done.stderr
    assert _snapshot(sample.path) == before
    assert "would create  .github/workflows/ci.yml" in done.stdout
    assert "    | permissions: {}" in done.stdout
    assert "+[tool.ci-tasks]" in done.stdout
    assert "locked  uv.lock" not in done.stdout


def test_without_pyproject_it_is_a_one_line_error(tmp_path):
    """No pyproject.toml: one line on stderr naming it, exit code 2, nothing written."""
    sample = _sample(tmp_path)
    (sample.path / "pyproject.toml").unlink()
    before = _snapshot(sample.path)
    done = sample.ci_tasks("init")
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1
    assert "pyproject.toml: no such file" in done.stderr
    assert _snapshot(sample.path) == before


@pytest.mark.parametrize(
    ("spec", "why"),
    [("ci-tasks @@ nowhere", "not a valid requirement"), ("requests==2", "for ci-tasks")],
)
def test_a_bad_requirement_is_refused(tmp_path, spec, why):
    """--requirement must be a valid requirement naming ci-tasks (exit 2)."""
    sample = _sample(tmp_path)
    done = sample.ci_tasks("init", "--requirement", spec)
    assert done.returncode == 2
    assert why in done.stderr


def test_an_existing_table_is_kept_and_drives_the_workflows(tmp_path):
    """A configured [tool.ci-tasks] stays as written, and its timeouts reach ci.yml."""
    configured = PYPROJECT + "\n[tool.ci-tasks.timeouts]\ntests = 3600  # slow suite\n"
    sample = _sample(tmp_path, configured)
    _init(sample.path)
    text = (sample.path / "pyproject.toml").read_text()
    assert text.endswith("[tool.ci-tasks.timeouts]\ntests = 3600  # slow suite\n")
    assert "Written by `ci-tasks init`" not in text
    ci = yaml.safe_load((sample.path / ".github/workflows/ci.yml").read_text())
    assert json.loads(ci["jobs"]["sessions"]["steps"][-1]["env"]["MINUTES"])["tests"] == 65


def test_an_empty_table_is_filled_where_it_stands():
    """An empty [tool.ci-tasks] (nothing of the user's in it) gets the defaults in place."""
    text = PYPROJECT + "\n[tool.ci-tasks]\n\n[tool.other]\nkeep = 1  # mine\n"
    edit = project.edit_pyproject(text, ["nox==1"], project.render_config_table())
    assert edit.text.endswith("\n\n[tool.other]\nkeep = 1  # mine\n")
    assert edit.text.index("smoke = 600.0") < edit.text.index("[tool.other]")
    assert tomllib.loads(edit.text)["tool"]["ci-tasks"]["retry"]["attempts"] == 3


def test_gitignore_entries_already_present_are_not_repeated():
    """.nox (any spelling) already ignored: only the missing entries are added."""
    assert project.edit_gitignore("/.nox\n") == (
        "/.nox\n\n# ci_tasks: reports, session environments, build output\n.ci-tasks/\ndist/\n"
    )
    assert project.edit_gitignore(".nox/\n.ci-tasks/\ndist\n") == ".nox/\n.ci-tasks/\ndist\n"


@pytest.mark.parametrize(
    ("requires", "expected"),
    [
        (">=3.11", ("3.11", "3.12", "3.13", "3.14")),
        (">=3.11.4,<3.13", ("3.11", "3.12")),
        ("~=3.12", ("3.12", "3.13", "3.14")),
        (">=3.10,!=3.12.*", ("3.10", "3.11", "3.13", "3.14")),
        (None, ("3.11",)),
    ],
)
def test_python_versions_come_from_requires_python(requires, expected):
    """Each known minor version some release of which requires-python allows."""
    assert project.python_versions(requires) == expected


@pytest.mark.parametrize("requires", ["3.11", ">=4"])
def test_an_unusable_requires_python_is_a_config_error(requires):
    """Not a specifier, or no known version fits: a ConfigError naming the key."""
    with pytest.raises(ConfigError, match="requires-python"):
        project.python_versions(requires)


@pytest.mark.parametrize(
    ("files", "package", "src", "tests"),
    [
        ({"src/my_lib/__init__.py": "", "test/test_x.py": ""}, "my_lib", True, "test"),
        ({"my_lib/__init__.py": "", "tests/test_x.py": ""}, "my_lib", False, "tests"),
        ({"src/other/__init__.py": "", "tests/__init__.py": ""}, "other", True, "tests"),
        ({"script.py": ""}, None, False, None),
    ],
)
def test_layout_detection(tmp_path, files, package, src, tests):
    """A src or flat layout, the package (by project name first) and the test directory."""
    for relative, text in files.items():
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_text(text)
    layout = project.detect_layout(tmp_path, {"project": {"name": "My-Lib"}})
    assert (layout.package, layout.src, layout.tests) == (package, src, tests)


@pytest.mark.slow
def test_end_to_end_init_then_lint_and_tests_pass_and_catch_planted_defects(tmp_path):
    """After init alone, lint and tests pass; a planted defect fails exactly its session."""
    sample = _sample(tmp_path)
    done = sample.ci_tasks("init", "--requirement", f"ci-tasks @ {REPO.as_uri()}")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "locked  uv.lock" in done.stdout

    listed = sample.nox("-l", "--json", "-t", "ci")
    sessions = json.loads(next(x for x in listed.stdout.splitlines() if x.startswith("[")))
    names = {s["session"] for s in sessions}
    assert {"lint", "tests-3.11"} <= names
    # The gate runs readiness itself, and smoke needs a deployment: neither joins the matrix.
    assert not names & {"readiness", "smoke"}

    for session in ("lint", "tests"):
        run = sample.nox("-s", session)
        assert run.returncode == 0, run.stdout

    package = sample.path / "sample/__init__.py"
    clean = package.read_text()
    package.write_text("import os\n" + clean)  # an unused import: a lint error only
    assert sample.nox("-s", "lint").returncode == 1
    assert sample.nox("-s", "tests").returncode == 0
    package.write_text(clean)

    test_file = sample.path / "tests/test_sample.py"
    test_file.write_text(test_file.read_text().replace("== 3", "== 4"))  # a failing test only
    assert sample.nox("-s", "tests").returncode == 1
    assert sample.nox("-s", "lint").returncode == 0
