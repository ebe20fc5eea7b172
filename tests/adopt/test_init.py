"""`ci-tasks init`: what it writes, keeps and refuses, and that it is all or nothing."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

from ci_tasks.adopt import hooks, init, project, scriptenv
from ci_tasks.core import own_commands
from ci_tasks.core.actions import Output
from ci_tasks.core.config import load_config
from ci_tasks.core.errors import CheckFailed, ConfigError
from ci_tasks.core.runner import Runner
from ci_tasks.core.stage import StageContext
from ci_tasks.stages.lint import scope as lint_scope
from ci_tasks.stages.lint.config import LintConfig
from ci_tasks.stages.lint.session import lint
from ci_tasks.stages.testing import scope as test_scope
from ci_tasks.stages.testing.config import TestsConfig
from tests.support.gitsupport import git, init_repo
from tests.support.sample import (
    ADOPTER_PYPROJECT,
    REPO,
    Project,
    clean_env,
    locked_nox,
    make_adopter,
    make_project,
)

BIN = Path(sys.executable).parent

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
    "pytest-xdist>=3.6",
]
"""

GENERATED = [
    "noxfile.py",
    "tasks.py",
    ".github/workflows/ci.yml",
    ".github/workflows/update-readiness.yml",
    ".github/workflows/staging-smoke-test.yml",
    ".github/workflows/update-ci-lock.yml",
    ".github/dependabot.yml",
]
# What ci_tasks runs, which must never enter an adopter's own dependency groups.
CI_ONLY = {
    "ci-tasks",
    "nox",
    "invoke",
    "bandit",
    "pip-audit",
    "zizmor",
    "twine",
    "check-wheel-contents",
}


def _sample(tmp_path, pyproject=PYPROJECT):
    sample = make_project(tmp_path, files={"pyproject.toml": pyproject}, lock=False)
    (sample.path / "noxfile.py").unlink()  # an adopter starts without one
    return sample


def _snapshot(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in root.rglob("*")
        if p.is_file() and ".git/" not in p.relative_to(root).as_posix() + "/"
    }


def _init(root: Path, **kwargs) -> tuple[init.Plan, str]:
    stream = io.StringIO()
    kwargs.setdefault("update_lock", False)
    result = init.run(root, out=Output(stream=stream, env={}), **kwargs)
    return result, stream.getvalue()


def _group_names(pyproject: Path) -> set[str]:
    data = tomllib.loads(pyproject.read_text())
    return {
        name
        for entries in data.get("dependency-groups", {}).values()
        for entry in entries
        if isinstance(entry, str) and (name := project.parse_requirement(entry).name)
    }


def test_init_writes_a_locked_noxfile_and_only_test_plugins_into_pytests_group(tmp_path):
    """Files written; pyproject keeps its comments and gains only the missing test plugins."""
    sample = _sample(tmp_path)
    planned = {c.path: c.action for c in init.plan(sample.path).changes}
    assert all(planned[relative] == "create" for relative in GENERATED)
    _, shown = _init(sample.path)
    for relative in GENERATED:
        # Without the lock (update_lock=False is --no-lock) no workflow that runs nox.
        held = relative.startswith(".github/workflows/")
        assert (sample.path / relative).is_file() != held, relative
        assert f"{'not written' if held else 'created'}  {relative}" in shown
    text = (sample.path / "pyproject.toml").read_text()
    assert text.startswith(PYPROJECT.split("[dependency-groups]", maxsplit=1)[0])
    assert '"pytest==9.2.0",  # the test runner' in text
    data = tomllib.loads(text)
    assert data["dependency-groups"] == {
        "dev": [
            "pytest==9.2.0",
            "pytest-xdist>=3.6",  # present already: kept as written
            "pytest-rerunfailures>=14.0",  # no coverage: the project measures none
        ]
    }
    table = data["tool"]["ci-tasks"]
    assert table["tests"]["coverage"] == "auto"
    assert "# (auto: off, the project measures no coverage that init could find" in text
    assert table["python"] == ["3.11"]  # from requires-python
    # Left to the loader's detection: a fixed value would override it for good.
    assert "dependency-groups" not in table
    assert '# dependency-groups = ["dev"]' in text
    ignored = (sample.path / ".gitignore").read_text().splitlines()[-3:]
    assert ignored == [".ci-tasks/", ".nox/", "dist/"]


def test_the_noxfile_block_names_nox_and_ci_tasks_pinned_at_ci_tasks_own_floor(tmp_path):
    """The block: ci_tasks' requires-python (not the project's), nox and ci-tasks pinned."""
    sample = _sample(tmp_path, ADOPTER_PYPROJECT)
    _init(sample.path, ci_tasks_source=str(REPO))
    block = scriptenv.read_block((sample.path / "noxfile.py").read_text())
    assert block is not None
    assert block["requires-python"] == ">=3.11"
    names = {project.parse_requirement(d).name: str(d) for d in block["dependencies"]}
    assert set(names) == {"ci-tasks", "nox"}
    assert all("==" in spec for spec in names.values())
    source = block["tool"]["uv"]["sources"]["ci-tasks"]
    assert source == {"path": str(REPO), "editable": True}


def test_without_a_pytest_group_a_tests_group_is_made(tmp_path):
    """No group lists pytest: a `tests` group with pytest and the plugins, lower bounds only."""
    sample = _sample(tmp_path, ADOPTER_PYPROJECT.replace('tests = ["pytest>=8"]', ""))
    _init(sample.path)
    data = tomllib.loads((sample.path / "pyproject.toml").read_text())
    assert data["dependency-groups"]["tests"] == [init.PYTEST, *init.TEST_PLUGINS]
    assert all(">=" in r and "==" not in r for r in data["dependency-groups"]["tests"])
    assert data["dependency-groups"]["dev"] == ["ruff==0.17.6"]


@pytest.mark.parametrize(
    "isort",
    [
        "",
        "\n[tool.ruff.lint.isort]\nlines-after-imports = 2\n",
        '\n[tool.ruff.lint.isort]\nrequired-imports = ["from __future__ import annotations"]\n',
    ],
)
def test_generated_python_files_pass_a_strict_project_ruff(tmp_path, isort):
    """noxfile.py and tasks.py pass the project's ruff check and format at 79 columns."""
    sample = _sample(tmp_path, PYPROJECT + isort)
    _init(sample.path, ci_tasks_source=str(REPO))
    files = ["noxfile.py", "tasks.py"]
    settings = ["--line-length", "79"]
    if "required-imports" in isort:
        assert all(
            "from __future__ import annotations" in (sample.path / f).read_text() for f in files
        )
    for command in (
        ["check", *settings, "--select", "E,W,F,I,D,UP,ERA", "--ignore", "D203,D213"],
        ["format", "--check", *settings],
    ):
        done = subprocess.run(
            [BIN / "ruff", *command, *files],
            cwd=sample.path,
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr


def test_running_init_twice_changes_nothing(tmp_path):
    """A second run writes no file and reports every one unchanged."""
    sample = _sample(tmp_path)
    _init(sample.path)
    before = _snapshot(sample.path)
    result, shown = _init(sample.path)
    assert _snapshot(sample.path) == before
    assert not any(c.writes for c in result.changes)
    held = {c.path for c in result.changes if c.action == "hold"}
    assert held == {g for g in GENERATED if g.startswith(".github/workflows/")}
    assert "created" not in shown
    assert "updated" not in shown


def test_no_lock_writes_no_workflow_that_would_fail_and_says_what_to_do(tmp_path):
    """--no-lock: the noxfile is merged, but no workflow whose jobs need the lock."""
    sample = _sample(tmp_path)
    own = '"""My sessions."""\n\nimport nox\n'
    (sample.path / "noxfile.py").write_text(own)
    sample.write(".github/workflows/tests.yml", "name: tests\n")
    done = sample.ci_tasks("init", "--no-lock")
    assert done.returncode == 0, done.stderr
    merged = (sample.path / "noxfile.py").read_text()
    assert merged.endswith(
        "import ci_tasks\nimport nox\n\nci_tasks.register()\n\n\n"
        'if __name__ == "__main__":\n    ci_tasks.main()\n'
    )
    assert [p.name for p in (sample.path / ".github/workflows").iterdir()] == ["tests.yml"]
    assert "not written  .github/workflows/update-ci-lock.yml" in done.stdout  # uv sync --locked
    # Held because every one runs from the lock: a workflow that did not would be written.
    planned = init.plan(sample.path).changes
    assert all("--locked" in c.text for c in planned if c.path.startswith(".github/workflows/"))
    assert (sample.path / ".github/dependabot.yml").is_file()  # runs no nox: written
    assert "delete the jobs it replaces" not in done.stdout  # yours are all CI has
    assert "not written  .github/workflows/ci.yml (its jobs need noxfile.py.lock)" in done.stdout
    assert "run `ci-tasks init` again without --no-lock" in done.stdout
    assert "kept " not in done.stdout  # nothing existed: nothing was kept
    assert "run a session as CI does" not in done.stdout  # it could not, yet
    assert not (sample.path / scriptenv.LOCK).exists()


def test_a_session_name_the_noxfile_already_uses_is_reported_never_shadowed(tmp_path):
    """Init names both sets; at run time the noxfile's own `lint` stays, tagged for CI."""
    sample = _sample(tmp_path)
    own = (
        "import nox\n\nimport ci_tasks\n\n\n@nox.session(python=False)\n"
        "def lint(session):\n    print('MY LINT')\n\n\nci_tasks.register()\n"
    )
    (sample.path / "noxfile.py").write_text(own)
    _, shown = _init(sample.path)
    assert "your sessions, kept: lint\n" in shown
    assert "ci_tasks adds: tests, security, build, readiness, smoke, preflight\n" in shown
    assert "CI's matrix runs your lint" in shown
    run = sample.nox("-s", "lint")
    assert "MY LINT" in run.stdout
    assert "the noxfile defines 'lint' itself" in run.stdout
    assert run.returncode == 0, run.stdout
    listed = sample.nox("-l", "--json", "-t", "ci")
    sessions = json.loads(listed.stdout.splitlines()[-1])
    assert [s["session"] for s in sessions if s["description"] == ""] == ["lint"]


def test_existing_workflows_are_named_with_how_to_switch(tmp_path):
    """A differing ci.yml is kept with the command to use; other workflows are listed."""
    sample = _sample(tmp_path)
    sample.write(".github/workflows/ci.yml", "name: mine\n")
    sample.write(".github/workflows/tests.yaml", "name: tests\n")
    _, shown = _init(sample.path)
    assert (sample.path / ".github/workflows/ci.yml").read_text() == "name: mine\n"
    assert "uv run --locked --script noxfile.py -s <session>" in shown
    notes = "\n".join(init.plan(sample.path).notes)  # with the lock, ci.yml would be written
    assert "your workflows (tests.yaml) are kept" in notes


def test_force_overwrites_and_keeps_a_backup(tmp_path):
    """--force replaces a differing file and keeps the old one as .bak (then .bak.1)."""
    sample = _sample(tmp_path)
    (sample.path / "noxfile.py").write_text("# first\n")
    _init(sample.path, force=True)
    assert scriptenv.read_block((sample.path / "noxfile.py").read_text()) is not None
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
    assert "locked  " not in done.stdout
    assert "created  uv.lock" not in done.stdout
    assert "baseline: would accept the findings of ci_tasks' own policies" in done.stdout
    assert "(none taken with --dry-run)" in done.stdout


@pytest.mark.parametrize(
    ("pyproject", "why"),
    [
        (None, "pyproject.toml: no such file"),
        (
            (
                '[tool.poetry]\nname = "old"\nversion = "1.0"\n\n'
                '[tool.poetry.dependencies]\npython = "^3.9"\n'
            ),
            "no [project] table (Poetry 1 metadata in [tool.poetry])",
        ),
        ("[project\n", "not valid TOML"),
    ],
)
def test_a_project_init_cannot_adopt_is_refused_in_one_line_before_writing(
    tmp_path, pyproject, why
):
    """No, broken or non-PEP 621 pyproject.toml: one line, exit 2, nothing written."""
    sample = _sample(tmp_path)
    if pyproject is None:
        (sample.path / "pyproject.toml").unlink()
    else:
        (sample.path / "pyproject.toml").write_text(pyproject)
    before = _snapshot(sample.path)
    done = sample.ci_tasks("init")
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1
    assert why in done.stderr
    assert _snapshot(sample.path) == before


def test_a_missing_ci_tasks_source_is_refused(tmp_path):
    """--ci-tasks-source must name a checkout or a wheel that exists (exit 2)."""
    sample = _sample(tmp_path)
    done = sample.ci_tasks("init", "--ci-tasks-source", str(tmp_path / "nowhere"))
    assert done.returncode == 2
    assert "--ci-tasks-source" in done.stderr
    assert "no such file or folder" in done.stderr


def test_an_existing_table_is_kept_and_drives_the_workflows(tmp_path):
    """A configured [tool.ci-tasks] stays as written, and its timeouts reach ci.yml."""
    configured = PYPROJECT + "\n[tool.ci-tasks.timeouts]\ntests = 3600  # slow suite\n"
    sample = _sample(tmp_path, configured)
    planned = {c.path: c.text for c in init.plan(sample.path).changes}
    _init(sample.path)
    text = (sample.path / "pyproject.toml").read_text()
    assert text.endswith("[tool.ci-tasks.timeouts]\ntests = 3600  # slow suite\n")
    assert "Written by `ci-tasks init`" not in text
    ci = yaml.safe_load(planned[".github/workflows/ci.yml"])
    assert json.loads(ci["jobs"]["sessions"]["steps"][-1]["env"]["MINUTES"])["tests"] == 65


def test_an_empty_table_is_filled_where_it_stands():
    """An empty [tool.ci-tasks] (nothing of the user's in it) gets the defaults in place."""
    text = PYPROJECT + "\n[tool.ci-tasks]\n\n[tool.other]\nkeep = 1  # mine\n"
    edit = project.edit_pyproject(text, ["pytest-cov>=5"], project.render_config_table())
    assert edit.text.endswith("\n\n[tool.other]\nkeep = 1  # mine\n")
    assert edit.text.rindex("timeout = 600.0") < edit.text.index("[tool.other]")
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


def test_lock_changes_name_each_package_that_moved():
    """Added, removed and changed packages, one line each, sorted; unchanged ones omitted."""
    old = {"nox": "2025.1", "ruff": "0.5", "gone": "1"}
    new = {"nox": "2026.1", "ruff": "0.5", "new": "2"}
    assert scriptenv.lock_changes(old, new) == ["- gone 1", "+ new 2", "  nox 2025.1 -> 2026.1"]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("breaks", "cause"),
    [
        # The project's own lock cannot resolve: nothing may stay half-edited.
        ("project", "requests==0.0.1"),
        # The project locks, then the CI environment cannot: uv.lock goes too.
        ("ci", "ci-tasks"),
    ],
)
def test_a_failing_lock_restores_every_file_byte_for_byte(tmp_path, breaks, cause):
    """A failed lock restores every file init touched; one line says why; a rerun fails too."""
    text = ADOPTER_PYPROJECT
    source = str(REPO)
    if breaks == "project":
        text = text.replace("requests==2.19.0", "requests==0.0.1")
    else:
        other = tmp_path / "not-ci-tasks"
        other.mkdir()
        (other / "pyproject.toml").write_text('[project]\nname = "other"\nversion = "1"\n')
        source = str(other)
    sample = make_adopter(tmp_path / "p", text)
    (sample.path / ".gitignore").write_text("*.pyc\n")
    before = _snapshot(sample.path)
    for _ in range(2):  # a second run meets the same state, and never reports success
        done = sample.ci_tasks("init", "--ci-tasks-source", source)
        assert done.returncode == 2, done.stdout
        assert done.stderr.count("\n") == 1, done.stderr
        assert cause in done.stderr
        assert "every file init touched is restored" in done.stderr
        assert _snapshot(sample.path) == before
        assert not (sample.path / ".github").exists()


@pytest.mark.slow
def test_end_to_end_an_old_python_project_adopts_and_lints_from_the_locked_script(tmp_path):
    """Python >= 3.9, requests==2.19.0: both locks made (also after --no-lock), lint passes."""
    sample = make_adopter(tmp_path)
    # A first run without locking; the next one must not call that state done.
    assert sample.ci_tasks("init", "--no-lock", "--ci-tasks-source", str(REPO)).returncode == 0
    done = sample.ci_tasks("init", "--ci-tasks-source", str(REPO))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "unchanged  pyproject.toml" in done.stdout
    assert "created  uv.lock" in done.stdout
    assert f"created  {scriptenv.LOCK}" in done.stdout
    check = subprocess.run(
        ["uv", "lock", "--check"],
        cwd=sample.path,
        env=clean_env(),
        capture_output=True,
        check=False,
    )
    assert check.returncode == 0, check.stderr
    assert not _group_names(sample.path / "pyproject.toml") & CI_ONLY
    lock = tomllib.loads((sample.path / "uv.lock").read_text())
    assert {p["name"] for p in lock["package"]}.isdisjoint(CI_ONLY)
    assert any(p["name"] == "requests" and p["version"] == "2.19.0" for p in lock["package"])

    listed = locked_nox(sample, "-l", "--json", "-t", "ci")
    sessions = json.loads(next(x for x in listed.stdout.splitlines() if x.startswith("[")))
    assert {"lint", "tests-3.9", "tests-3.13"} <= {s["session"] for s in sessions}
    # As the maintainer does: commit what init wrote (a committed lock pins the groups).
    git(sample.path, "add", "-A")
    git(sample.path, "commit", "-qm", "Adopt ci-tasks")

    run = locked_nox(sample, "-s", "lint")
    assert run.returncode == 0, run.stdout
    package = sample.path / "sample/__init__.py"
    package.write_text("import os\n" + package.read_text())  # an unused import
    assert locked_nox(sample, "-s", "lint").returncode == 1

    # The invoke tasks run from the same locked environment: ci_tasks is nowhere else.
    installed = locked_nox(sample, "-s", "invoke", "--", "hooks.install")
    assert installed.returncode == 0, installed.stdout
    hook = (sample.path / ".git/hooks/pre-push").read_text()
    assert "environments-v2" in hook  # the interpreter recorded is the script env's
    # That interpreter gone, the hook syncs the locked environment and runs from it.
    script = tmp_path / "pre-push"
    script.write_text(hooks.render_hook(str(tmp_path / "gone/python"), "."))
    fallback = subprocess.run(
        ["sh", str(script), "origin", "url"],
        cwd=sample.path,
        env=clean_env(),
        input="",
        capture_output=True,
        text=True,
        check=False,
    )
    assert fallback.returncode == 0, fallback.stderr
    assert "nothing to check" in fallback.stdout
    assert sample.ci_tasks("lock", "--check").returncode == 0
    (sample.path / "noxfile.py").write_text(
        (sample.path / "noxfile.py").read_text().replace('#     "nox==', '#     "nox>=2024.1,==', 1)
    )
    assert sample.ci_tasks("lock", "--check").returncode == 1
    refreshed = sample.ci_tasks("lock")
    assert refreshed.returncode == 0, refreshed.stderr
    assert "noxfile.py.lock:" in refreshed.stdout


def test_added_requirements_follow_the_arrays_own_indent():
    """A group indented by two spaces gains entries indented by two spaces."""
    text = '[project]\nname = "x"\n\n[dependency-groups]\ntests = [\n  "pytest>9",\n]\n'
    edit = project.edit_pyproject(text, ["pytest-cov>=5.0"], "", group="tests")
    assert '\n  "pytest>9",\n  "pytest-cov>=5.0",\n]' in edit.text


@pytest.mark.parametrize(
    ("files", "said", "added"),
    [
        (
            {"pyproject.toml": "\n[tool.coverage.report]\nfail_under = 90\n"},
            "auto: on, fail_under = 90 in pyproject.toml [tool.coverage.report]",
            True,
        ),
        (
            {"pytest.ini": "[pytest]\naddopts = --cov=sample -q\n"},
            "auto: on, --cov=sample in pytest's addopts",
            True,
        ),
        ({".coveragerc": "[report]\nfail_under = 80\n"}, "fail_under = 80 in .coveragerc", True),
        (
            {"tox.ini": "[testenv]\ncommands = coverage run -m pytest\n"},
            "auto: on, tox.ini runs 'coverage run'",
            True,
        ),
        (
            {".github/workflows/test.yml": "jobs:\n  t:\n    steps:\n      - run: pytest --cov\n"},
            "auto: on, .github/workflows/test.yml runs '--cov'",
            True,
        ),
        ({"deps": '"coverage[toml]>=7"'}, "auto: on, coverage in dependency group 'dev'", False),
        ({"deps": '"pytest-cov"'}, "auto: on, pytest-cov in dependency group 'dev'", False),
        ({}, "auto: off, the project measures no coverage", False),
    ],
)
def test_init_says_what_auto_coverage_found(tmp_path, files, said, added):
    """Each kind of evidence turns `auto` coverage on, and init says which; none: off."""
    files = dict(files)
    deps = files.pop("deps", None)
    text = PYPROJECT + files.pop("pyproject.toml", "")
    if deps:
        text = text.replace('"pytest-xdist>=3.6",', f'"pytest-xdist>=3.6", {deps},')
    sample = _sample(tmp_path, text)
    for relative, body in files.items():
        sample.write(relative, body)
    _init(sample.path)
    written = (sample.path / "pyproject.toml").read_text()
    assert " ".join(line.lstrip("# ") for line in written.splitlines()).count(said) == 1
    dev = tomllib.loads(written)["dependency-groups"]["dev"]
    assert (init.COVERAGE in dev) is added  # coverage itself, where it is not there yet
    assert "pytest-cov>=5.0" not in dev


# A project that gates on its own ruff, every group pinned, and a docs workflow older than
# ci_tasks: its `pip install tox` is a finding of ci_tasks' pinning policy alone.
ADOPTED = """\
[project]
name = "sample"
version = "0.1.0"
requires-python = ">=3.11,<3.12"
dependencies = []

[dependency-groups]
dev = ["pytest==9.2.0", "pytest-rerunfailures==14.0"]

[tool.ruff.lint]
select = ["F"]

[tool.ci-tasks.lint]
lock-check = false
"""
DOCS_WORKFLOW = """\
name: docs
on: push
permissions: {}
jobs:
  docs:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683  # v4.2.2
        with:
          persist-credentials: false
      - run: pip install tox
"""


def _adopted(tmp_path, source="") -> Project:
    files = {
        "pyproject.toml": ADOPTED,
        "sample/__init__.py": source,
        ".github/workflows/docs.yml": DOCS_WORKFLOW,
    }
    return Project(init_repo(tmp_path / "p", files))


def _lint(sample: Project) -> None:
    """Run the lint stage in *sample* as a session does; raises CheckFailed on a finding."""
    ctx = StageContext(
        name="lint",
        config=load_config(sample.path),
        runner=Runner(env=clean_env(), cwd=sample.path),
        output=Output(stream=io.StringIO(), env={}),
    )
    lint(ctx)


def _ignored(sample: Project) -> list[tuple[str, str]]:
    table = tomllib.loads((sample.path / "pyproject.toml").read_text())["tool"]["ci-tasks"]
    return [(e["rule"], e.get("file")) for e in table["lint"].get("ignore", [])]


def test_a_plain_init_baselines_an_old_workflows_pip_install_and_a_new_one_still_fails(tmp_path):
    """Plain init accepts and lists the old unhashed pip install; lint passes; a new one fails."""
    sample = _adopted(tmp_path)
    done = sample.ci_tasks("init", "--no-lock")
    assert done.returncode == 0, done.stdout + done.stderr
    assert _ignored(sample) == [("unhashed-pip-install", ".github/workflows/docs.yml")]
    listed = [line for line in done.stdout.splitlines() if line.startswith("  lint: ")]
    assert len(listed) == 1
    assert listed[0].startswith(
        "  lint: unhashed-pip-install in .github/workflows/docs.yml:11 until "
    )
    _lint(sample)  # green: the finding is accepted, dated
    git(sample.path, "add", "-A")
    git(sample.path, "commit", "-qm", "Adopt ci_tasks")

    sample.write(".github/workflows/release.yml", DOCS_WORKFLOW.replace("tox", "build"))
    with pytest.raises(CheckFailed, match="unhashed-pip-install"):
        _lint(sample)


def test_no_baseline_leaves_the_old_finding_red(tmp_path):
    """With --no-baseline, init writes no ignore entry and says nothing of one; lint fails on it."""
    sample = _adopted(tmp_path)
    done = sample.ci_tasks("init", "--no-lock", "--no-baseline")
    assert done.returncode == 0, done.stdout + done.stderr
    assert _ignored(sample) == []
    assert "baseline:" not in done.stdout
    with pytest.raises(CheckFailed, match="unhashed-pip-install"):
        _lint(sample)


def test_a_finding_of_the_projects_own_ruff_is_not_baselined_by_default(tmp_path):
    """An unused import stays a finding (its ruff fails on it too); init says it is not taken."""
    sample = _adopted(tmp_path, source="import os\n")
    done = sample.ci_tasks("init", "--no-lock")
    assert done.returncode == 0, done.stdout + done.stderr
    assert _ignored(sample) == [("unhashed-pip-install", ".github/workflows/docs.yml")]
    assert "1 finding(s) of the project's own tools (ruff) are not accepted" in done.stdout
    with pytest.raises(CheckFailed, match=r"\(ruff\)"):
        _lint(sample)


def test_a_baseline_that_cannot_run_leaves_init_done_and_says_how_to_take_it(tmp_path):
    """If bandit cannot scan, init exits 0 with its files, one line names `ci-tasks baseline`."""
    sample = _adopted(tmp_path)
    text = ADOPTED + '\n[tool.ci-tasks.security]\npaths = ["nowhere"]\n'
    sample.write("pyproject.toml", text)
    done = sample.ci_tasks("init", "--no-lock")
    assert done.returncode == 0, done.stdout + done.stderr
    assert (sample.path / "noxfile.py").is_file()
    said = [line for line in done.stdout.splitlines() if "none taken" in line]
    assert len(said) == 1
    assert "cannot take a security baseline" in said[0]
    assert said[0].endswith("take it later with `ci-tasks baseline`")
    after = (sample.path / "pyproject.toml").read_text()
    assert "ignore" not in after
    assert tomllib.loads(after)  # whole, as init left it


def test_the_tests_group_takes_what_the_projects_test_command_installs(tmp_path):
    """Deps of tox (a -r file read in place) join the tests group; its own pytest pin wins."""
    sample = _sample(tmp_path, ADOPTER_PYPROJECT.replace('tests = ["pytest>=8"]', ""))
    sample.write("requirements/test.txt", "pretend==1.0.9  # stubs\n-e .\n")
    sample.write(
        "tox.ini",
        "[tox]\nenv_list = py{311,312}\n[testenv]\n"
        "deps =\n    pytest>=8.3\n    pytest-socket\n    -r requirements/test.txt\n"
        "commands = pytest {posargs}\n",
    )
    _init(sample.path)
    data = tomllib.loads((sample.path / "pyproject.toml").read_text())
    tests = data["dependency-groups"]["tests"]
    assert tests[0] == "pytest>=8.3"
    assert {"pytest-socket", "pretend==1.0.9", *init.TEST_PLUGINS} <= set(tests)
    assert not any(t.startswith("-e") for t in tests)


def test_the_tests_group_keeps_the_setuptools_the_projects_tests_build_with():
    """A test command installing setuptools>=60 (tests building C extensions) keeps it; pip not."""
    data = {"project": {"name": "x"}}
    deps = ["setuptools>=60", "pip>=24", "build>=0.10"]
    group, wanted = init._test_requirements(data, coverage=False, deps=deps)
    assert group == init.NEW_TEST_GROUP
    assert {"setuptools>=60", "build>=0.10"} <= set(wanted)
    assert not any(w.startswith("pip") for w in wanted)


def test_a_group_whose_package_needs_a_newer_python_is_locked_for_it():
    """The uv error 'sphinx ... depends on Python>=3.12' narrows docs, never the tests."""
    text = (
        '[project]\nname = "x"\nrequires-python = ">=3.10"\n'
        '[dependency-groups]\ndocs = ["sphinx>=9.1"]\ntests = ["pytest>=8"]\n'
    )
    error = (
        "Because the requested Python version (>=3.10) does not satisfy Python>=3.12 and "
        "sphinx>=9.1.0,<=9.1.1 depends on Python>=3.12, we can conclude that ..."
    )
    narrowed = project.narrow_group(text, error, keep=["tests"])
    assert narrowed is not None
    new, group, specifier = narrowed
    assert (group, specifier) == ("docs", ">=3.12")
    assert tomllib.loads(new)["tool"]["uv"]["dependency-groups"] == {
        "docs": {"requires-python": ">=3.12"}
    }
    assert project.narrow_group(new, error, keep=["tests"]) is None  # narrowed already
    tests_error = error.replace("sphinx", "pytest")
    assert project.narrow_group(text, tests_error, keep=["tests"]) is None


def test_mypy_is_told_about_the_ci_environments_imports_only_where_it_is_configured():
    """An override names exactly ci_tasks, nox and invoke; added once, never invented."""
    text = '[project]\nname = "x"\n\n[tool.mypy]\nstrict = true\n'
    quieted = project.mypy_sees_ci_files(text)
    assert quieted is not None
    (override,) = tomllib.loads(quieted)["tool"]["mypy"]["overrides"]
    assert override == {"module": list(project.CI_MODULES), "ignore_missing_imports": True}
    assert project.mypy_sees_ci_files(quieted) is None
    assert project.mypy_sees_ci_files('[project]\nname = "x"\n') is None


SCOPED_JUSTFILE = """\
test:
    uv run --all-extras --group dev pytest tests -m "not slow"
lint:
    uv run ruff check sample tests
    uv run ruff format --check sample
"""


def test_init_writes_the_scope_it_found_and_the_sessions_take_it_unchanged(tmp_path):
    """The test and lint commands' scope is written with its source; the scope stays the same."""
    sample = _sample(tmp_path)
    sample.write("justfile", SCOPED_JUSTFILE)
    own = own_commands.read(sample.path)
    before = (test_scope.choose(own, sample.path), lint_scope.choose(own))
    _init(sample.path)
    text = (sample.path / "pyproject.toml").read_text()
    table = tomllib.loads(text)["tool"]["ci-tasks"]
    assert {k: table["tests"][k] for k in ("pytest-args", "all-extras", "groups")} == {
        "pytest-args": ["tests", "-m", "not slow"],
        "all-extras": True,
        "groups": ["dev"],
    }
    assert "extras" not in table["tests"]  # the command names none: left to it
    assert "# (from justfile recipe 'test': pytest tests -m 'not slow'; default: unset)" in text
    assert {k: table["lint"][k] for k in ("check-paths", "formatter", "format-paths")} == {
        "check-paths": ["sample", "tests"],
        "formatter": "ruff",
        "format-paths": ["sample"],
    }
    assert "# (from justfile recipe 'lint': ruff format --check sample; default: unset)" in text
    config = load_config(sample.path)
    after = (
        test_scope.choose(own, sample.path, config.section(TestsConfig)),
        lint_scope.choose(own, config.section(LintConfig)),
    )
    assert after[0].args == before[0].args
    assert (after[0].all_extras, after[0].groups) == (before[0].all_extras, before[0].groups)
    assert after[0].source.startswith("pyproject.toml [tool.ci-tasks.tests] pytest-args")
    assert [c.paths if c else None for c in (after[1].check, after[1].format)] == [
        c.paths if c else None for c in (before[1].check, before[1].format)
    ]
    assert (
        after[1].said()[0]
        == "ruff check: sample tests (pyproject.toml [tool.ci-tasks.lint] check-paths; "
        "justfile recipe 'lint': ruff check sample tests)"
    )


def test_init_writes_no_scope_where_the_project_has_no_command(tmp_path):
    """No test or lint command of the project's own: those keys stay unset (comments only)."""
    sample = _sample(tmp_path)
    _init(sample.path)
    text = (sample.path / "pyproject.toml").read_text()
    table = tomllib.loads(text)["tool"]["ci-tasks"]
    assert not {"pytest-args", "extras", "all-extras", "groups"} & set(table["tests"])
    assert not {"check-paths", "formatter", "format-paths"} & set(table["lint"])
    assert "# pytest-args = an array of strings (unset by default)" in text


def test_a_project_that_ignores_uv_lock_gets_it_unignored_and_told(tmp_path):
    """CI syncs the tests from the committed lock: init un-ignores uv.lock and says why."""
    sample = _sample(tmp_path)
    sample.write(".gitignore", "uv.lock\n__pycache__/\n")
    init_repo(sample.path)
    _, said = _init(sample.path)
    (sample.path / "uv.lock").write_text("")  # check-ignore asks of a path, there or not
    matched = git(sample.path, "check-ignore", "--no-index", "-v", "-n", "uv.lock")
    assert f"{project.UNIGNORE_LOCK}\tuv.lock" in matched  # the last rule that matches: kept
    assert project.UNIGNORE_LOCK in (sample.path / ".gitignore").read_text()
    assert "uv.lock: your .gitignore ignores it" in said


def test_a_first_uv_lock_takes_the_versions_of_the_projects_own_lock(tmp_path):
    """pdm.lock pins pytest-xdist 3.6.1: the project's commands run that, so uv.lock locks it.

    Without that lock, uv takes its newest (poetry-core's mypy: 2.x instead of its 1.19).
    """
    sample = _sample(tmp_path)
    pins = {"pytest-xdist": "3.6.1", "execnet": "2.1.1"}
    sample.write(
        "pdm.lock",
        "".join(f'[[package]]\nname = "{n}"\nversion = "{v}"\n\n' for n, v in pins.items()),
    )
    _, shown = _init(sample.path, update_lock=True, ci_tasks_source=str(REPO))
    assert "uv.lock: locked at pdm.lock's versions (2 packages), as its own runs" in shown

    def locked() -> dict[str, str]:
        data = tomllib.loads((sample.path / "uv.lock").read_text())
        return {p["name"]: p["version"] for p in data["package"]}

    assert {n: locked()[n] for n in pins} == pins
    (sample.path / "uv.lock").unlink()
    (sample.path / "pdm.lock").unlink()
    _, shown = _init(sample.path, update_lock=True, ci_tasks_source=str(REPO))
    assert "versions (" not in shown
    assert locked()["pytest-xdist"] != "3.6.1"
