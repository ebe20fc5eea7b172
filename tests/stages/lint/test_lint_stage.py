"""The lint session end to end: real nox, uv and ruff on one locked sample project."""

from __future__ import annotations

import json
import textwrap

import pytest

from ci_tasks.stages.lint import session as lint
from tests.support.gitsupport import git
from tests.support.sample import NOXFILE, make_project, pyproject

pytestmark = pytest.mark.slow

SHA = "0123456789abcdef0123456789abcdef01234567"
DEV = ["mypy==2.4.1", "ruff==0.17.6"]
GOOD_WORKFLOW = f"""\
name: ci
on: push
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@{SHA}
      - uses: ./.github/actions/setup
      - run: pip install --require-hashes -r requirements.txt
"""
BAD_WORKFLOW = """\
name: ci
on: push
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: astral-sh/setup-uv
      - run: |
          python -m pip install --upgrade pip
          uv run nox -s tests
"""


# ci_tasks is not part of the sample project, so ruff's isort sorts it with nox.
SORTED_NOXFILE = NOXFILE.replace("import nox\n\nimport ci_tasks\n", "import ci_tasks\nimport nox\n")


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    root = tmp_path_factory.mktemp("lint-stage")
    files = {".github/workflows/ci.yml": GOOD_WORKFLOW, "noxfile.py": SORTED_NOXFILE}
    return make_project(root, dev=DEV, files=files)


def lint_report(project):
    return json.loads((project.path / ".ci-tasks" / "lint-report.json").read_text())


def test_clean_project_passes(project):
    """Ruff-clean code, a current lock, pinned tools and actions: exit 0, no findings."""
    project.write("pyproject.toml", pyproject(dev=DEV))
    project.write(".github/workflows/ci.yml", GOOD_WORKFLOW)
    (project.path / "sample" / "bad.py").unlink(missing_ok=True)
    result = project.nox("-r", "-s", "lint")
    assert result.returncode == 0, result.stdout
    report = lint_report(project)
    assert report["verdict"] == "passed"
    assert report["lock_current"] is True
    assert report["findings"] == []
    assert report["tools"] == {
        "ruff": {
            "version": "0.17.6",
            "pinned_in": "uv.lock",
            "source": "the project's (uv.lock, group dev)",
        }
    }


def test_each_problem_is_reported_with_file_and_line(project):
    """Unpinned and tag-pinned actions, unhashed pip, stale lock, ruff: each found, exit 1."""
    # An unpinned tool in the dev group also makes the lock stale.
    project.write("pyproject.toml", pyproject(dev=[*DEV, "iniconfig>=2"]))
    project.write(".github/workflows/ci.yml", BAD_WORKFLOW)
    project.write("sample/bad.py", "import os\n")
    result = project.nox("-r", "-s", "lint")
    assert result.returncode == 1, result.stdout
    report = lint_report(project)
    assert report["verdict"] == "failed"
    assert report["lock_current"] is False
    found = {(f["rule"], f["file"], f["line"]) for f in report["findings"]}
    assert found == {
        ("stale-lock", "uv.lock", None),
        ("unpinned-dev-tool", "pyproject.toml", 12),
        ("unpinned-action", ".github/workflows/ci.yml", 7),
        ("unpinned-action", ".github/workflows/ci.yml", 8),
        ("unhashed-pip-install", ".github/workflows/ci.yml", 10),
        ("ruff", "sample/bad.py", 1),
    }
    assert "error: .github/workflows/ci.yml:7: lint: unpinned-action:" in result.stdout
    assert "run `uv lock`" in result.stdout


def test_annotations_under_github_actions(project):
    """Under Actions, findings are ::error file=,line=:: annotations and a summary line."""
    project.write("pyproject.toml", pyproject(dev=DEV))
    project.write(".github/workflows/ci.yml", GOOD_WORKFLOW)
    project.write("sample/bad.py", "import os\n")
    result = project.nox("-r", "-s", "lint", env={"GITHUB_ACTIONS": "true"})
    assert result.returncode == 1, result.stdout
    assert "::error file=sample/bad.py,line=1,title=lint%3A ruff::F401" in result.stdout


def test_posargs_go_to_ruff(project):
    """`nox -s lint -- --fix` lets ruff fix what it can; the fixed file then passes."""
    project.write("pyproject.toml", pyproject(dev=DEV))
    project.write(".github/workflows/ci.yml", GOOD_WORKFLOW)
    project.write("sample/bad.py", "import os\n")
    result = project.nox("-r", "-s", "lint", "--", "--fix")
    assert result.returncode == 0, result.stdout
    assert "import os" not in (project.path / "sample" / "bad.py").read_text()


def test_mypy_runs_when_configured(project):
    """With `mypy = true`, a type error is a mypy finding with its file and line."""
    mypy_on = '[tool.ci-tasks.lint]\nmypy = true\nmypy-targets = ["sample"]\n'
    project.write("pyproject.toml", pyproject(dev=DEV, ci_tasks=mypy_on))
    project.write(".github/workflows/ci.yml", GOOD_WORKFLOW)
    project.write("sample/bad.py", 'def f() -> int:\n    return "text"\n')
    result = project.nox("-r", "-s", "lint")
    assert result.returncode == 1, result.stdout
    [finding] = lint_report(project)["findings"]
    assert (finding["rule"], finding["file"], finding["line"]) == ("mypy", "sample/bad.py", 2)
    assert "Incompatible return value type" in finding["message"]


def test_lock_pinned_lower_bounds_pass_once_the_lock_is_committed(tmp_path):
    """`ruff>=0.5` in dev, locked: fails while uv.lock is untracked, passes once committed."""
    files = {".gitignore": ".nox/\n.ci-tasks/\n", "noxfile.py": SORTED_NOXFILE}
    project = make_project(tmp_path, dev=["ruff>=0.5"], files=files)
    git(project.path, "init", "-q", "-b", "main")
    git(project.path, "add", "-A", ":!uv.lock")
    untracked = project.nox("-s", "lint")
    assert untracked.returncode == 1, untracked.stdout
    [finding] = lint_report(project)["findings"]
    assert finding["rule"] == "unpinned-dev-tool"
    assert "uv.lock is not committed" in finding["message"]
    git(project.path, "add", "uv.lock")
    committed = project.nox("-r", "-s", "lint")
    assert committed.returncode == 0, committed.stdout
    assert lint_report(project)["tools"]["ruff"]["pinned_in"] == "uv.lock"


def test_without_a_locked_ruff_lint_makes_no_venv(tmp_path):
    """A project that does not lock ruff is linted by the CI env's ruff, with no session venv."""
    project = make_project(tmp_path, dev=["iniconfig>=2"], files={"noxfile.py": SORTED_NOXFILE})
    result = project.nox("-s", "lint")
    assert result.returncode == 0, result.stdout
    tools = lint_report(project)["tools"]
    assert list(tools) == ["ruff"]
    assert tools["ruff"]["pinned_in"] == "the CI environment"
    assert not (project.path / ".nox" / "lint").exists()


def test_ci_environments_mypy_sees_the_projects_imports(tmp_path):
    """Without a locked mypy, the CI env's mypy checks the project through its synced env."""
    mypy_on = '[tool.ci-tasks.lint]\nmypy = true\nmypy-targets = ["sample"]\n'
    files = {
        "noxfile.py": SORTED_NOXFILE,
        # iniconfig is typed and installed only in the project's env: mypy must find it there.
        "sample/bad.py": "import iniconfig\n\n\ndef f() -> int:\n    return iniconfig.__name__\n",
    }
    project = make_project(
        tmp_path, dependencies=["iniconfig==2.1.0"], dev=[], ci_tasks=mypy_on, files=files
    )
    result = project.nox("-s", "lint")
    assert result.returncode == 1, result.stdout
    report = lint_report(project)
    assert {t: v["pinned_in"] for t, v in report["tools"].items()} == {
        "ruff": "the CI environment",
        "mypy": "the CI environment",
    }
    [finding] = report["findings"]
    assert (finding["rule"], finding["file"], finding["line"]) == ("mypy", "sample/bad.py", 5)
    assert "Incompatible return value type" in finding["message"]


@pytest.mark.parametrize(
    ("targets", "pyproject_text", "expected"),
    [
        (("src",), "", ["mypy", "src"]),
        ((), '[tool.mypy]\nfiles = ["pkg"]\n', ["mypy"]),
        ((), '[project]\nname = "x"\n', ["mypy", "."]),
    ],
)
def test_mypy_command(tmp_path, targets, pyproject_text, expected):
    """Configured targets win; then mypy's own `files`; then the whole project."""
    (tmp_path / "pyproject.toml").write_text(pyproject_text)
    assert lint.mypy_command(tmp_path, targets) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            (
                "sample/x.py:3: error: Incompatible types  [assignment]\n"
                "sample/x.py:4: note: see here\nFound 1 error in 1 file\n"
            ),
            [("mypy", "sample/x.py", 3, "Incompatible types  [assignment]")],
        ),
        ("Success: no issues found in 2 source files\n", []),
    ],
)
def test_parse_mypy(tmp_path, text, expected):
    """Error lines of mypy become findings; notes and summaries do not."""
    found = [(f.rule, f.file, f.line, f.message) for f in lint.parse_mypy(text, tmp_path)]
    assert found == expected


def test_parse_ruff_format(tmp_path):
    """Each file ruff format would change is one finding."""
    text = textwrap.dedent(f"""\
        Would reformat: {tmp_path}/a.py
        Would reformat: b/c.py
        2 files would be reformatted
        """)
    assert [(f.rule, f.file) for f in lint.parse_ruff_format(text, tmp_path)] == [
        ("format", "a.py"),
        ("format", "b/c.py"),
    ]


def test_parse_black(tmp_path):
    """Each file black would reformat is one finding at its first change, naming `black FILE`."""
    diff = "\n".join(
        [
            f"--- {tmp_path}/src/a.py\t2026-01-01 00:00:00.000000+00:00",
            f"+++ {tmp_path}/src/a.py\t2026-01-01 00:00:01.000000+00:00",
            "@@ -1,4 +1,4 @@",
            " import os",
            " ",  # a blank line of context
            "-x  =  1",
            "+x = 1",
            "--- src/b.py\t2026-01-01 00:00:00.000000+00:00",
            "+++ src/b.py\t2026-01-01 00:00:01.000000+00:00",
            "@@ -3,2 +3,2 @@",
            "-def f( ):",
            "+def f():",
        ]
    )
    tail = f"would reformat {tmp_path}/src/a.py\nerror: cannot format src/c.py: Cannot parse: 1:4\n"
    found = [(f.rule, f.file, f.line, f.message) for f in lint.parse_black(diff, tail, tmp_path)]
    assert found == [
        ("format", "src/a.py", 3, "not formatted; run `black src/a.py`"),
        ("format", "src/b.py", 3, "not formatted; run `black src/b.py`"),
        ("format", "src/c.py", None, "black cannot format it: Cannot parse: 1:4"),
    ]


def test_the_format_check_covers_what_the_projects_own_recipe_covers(tmp_path):
    """A Justfile's `ruff format --check sample` scopes lint: bench/ is not its gate, sample/ is."""
    files = {
        ".github/workflows/ci.yml": GOOD_WORKFLOW,
        "noxfile.py": SORTED_NOXFILE,
        "justfile": "lint:\n    uv run ruff check sample\n    uv run ruff format --check sample\n",
        "bench/slow.py": "x  =  1\n",
    }
    project = make_project(tmp_path, dev=DEV, files=files)
    result = project.nox("-s", "lint")
    assert result.returncode == 0, result.stdout
    assert "ruff format --check: sample (justfile recipe 'lint'" in result.stdout
    project.write("sample/new.py", "y  =  2\n")
    result = project.nox("-r", "-s", "lint")
    assert result.returncode == 1, result.stdout
    found = {(f["rule"], f["file"]) for f in lint_report(project)["findings"]}
    assert found == {("format", "sample/new.py")}


def test_parse_ruff_format_reads_the_diagnostics_of_newer_ruff(tmp_path):
    """Newer ruff prints an `unformatted` diagnostic per file: one finding each, with its line."""
    text = textwrap.dedent(f"""\
        unformatted: File would be reformatted
         --> {tmp_path}/sample/new.py:1:3
          |
          - y  =  2
        1 + y = 2
          |

        1 file would be reformatted
        """)
    assert [(f.file, f.line) for f in lint.parse_ruff_format(text, tmp_path)] == [
        ("sample/new.py", 1)
    ]


RUFF_HOOK_AT_ANOTHER_VERSION = """\
repos:
  - repo: https://github.com/astral-sh/ruff-pre-commit
    rev: v0.15.16
    hooks:
      - id: ruff
"""


def test_a_project_formatting_with_black_is_checked_with_its_black_over_its_paths(tmp_path):
    """`uv run black --check sample`: its locked black over sample/ only; a new bad file fails."""
    files = {
        ".github/workflows/ci.yml": GOOD_WORKFLOW,
        "noxfile.py": SORTED_NOXFILE,
        "justfile": "lint:\n    uv run black --check sample\n",
        "bench/slow.py": "x  =  1\n",
        ".pre-commit-config.yaml": RUFF_HOOK_AT_ANOTHER_VERSION,
    }
    project = make_project(tmp_path, dev=[*DEV, "black==24.10.0"], files=files)
    result = project.nox("-s", "lint")
    assert result.returncode == 0, result.stdout
    assert "black --check: sample (justfile recipe 'lint': black --check sample)" in result.stdout
    assert "ruff format --check:" not in result.stdout
    assert (
        "warning: .pre-commit-config.yaml:3: lint: ruff: uv.lock locks 0.17.6 but "
        ".pre-commit-config.yaml pins 0.15.16; lint runs uv.lock's 0.17.6"
    ) in result.stdout
    assert lint_report(project)["tools"]["black"] == {
        "version": "24.10.0",
        "pinned_in": "uv.lock",
        "source": "the project's (uv.lock, group dev)",
    }
    project.write("sample/new.py", "y  =  2\n")
    result = project.nox("-r", "-s", "lint")
    assert result.returncode == 1, result.stdout
    [finding] = lint_report(project)["findings"]
    assert (finding["rule"], finding["file"], finding["line"]) == ("format", "sample/new.py", 1)
    assert finding["message"] == "not formatted; run `black sample/new.py`"


def test_mypy_runs_by_default_only_where_the_project_runs_mypy(tmp_path):
    """No mypy of its own: a type error is not lint's; `uv run mypy sample` in its recipe: it is."""
    files = {
        ".github/workflows/ci.yml": GOOD_WORKFLOW,
        "noxfile.py": SORTED_NOXFILE,
        "justfile": "lint:\n    uv run ruff check sample\n",
        "sample/bad.py": 'def f() -> int:\n    return "text"\n',
        "bench/bad.py": 'def g() -> int:\n    return "text"\n',
    }
    project = make_project(tmp_path, dev=DEV, files=files)
    result = project.nox("-s", "lint")
    assert result.returncode == 0, result.stdout
    assert "mypy: none (auto: the project's own commands run no mypy)" in result.stdout
    assert "mypy" not in lint_report(project)["tools"]
    project.write("justfile", "lint:\n    uv run ruff check sample\n    uv run mypy sample\n")
    result = project.nox("-s", "lint")
    assert result.returncode == 1, result.stdout
    assert "mypy: sample (auto: justfile recipe 'lint': mypy sample)" in result.stdout
    [finding] = lint_report(project)["findings"]
    assert (finding["rule"], finding["file"], finding["line"]) == ("mypy", "sample/bad.py", 2)


def test_the_stubs_the_projects_mypy_env_installs_are_there_for_lints_mypy(tmp_path):
    """With tox's `deps = mypy types-six`, lint's mypy sees types-six (as twine's types env).

    Without it mypy says "Library stubs not installed for six", which tox's run never shows;
    a genuine type error beside it still fails.
    """
    files = {
        ".github/workflows/ci.yml": GOOD_WORKFLOW,
        "noxfile.py": SORTED_NOXFILE,
        "tox.ini": "[testenv:types]\ndeps =\n    mypy\n    types-six\ncommands = mypy sample\n",
        "sample/uses_six.py": "import six\n\n\ndef text() -> str:\n    return six.u('x')\n",
    }
    project = make_project(tmp_path, dev=DEV, files=files)
    result = project.nox("-s", "lint")
    assert result.returncode == 0, result.stdout
    said = "mypy: sample (auto: tox.ini [testenv:types]: mypy sample, with types-six installed)"
    assert said in result.stdout
    project.write("sample/bad.py", "import six\n\n\ndef f() -> int:\n    return six.u('x')\n")
    result = project.nox("-s", "lint")
    assert result.returncode == 1, result.stdout
    [finding] = lint_report(project)["findings"]
    assert (finding["rule"], finding["file"], finding["line"]) == ("mypy", "sample/bad.py", 5)


def test_the_sections_paths_are_what_lint_checks(tmp_path):
    """`format-paths = ["sample"]`: bench/ is not checked, a new file in sample/ fails; said."""
    paths = '[tool.ci-tasks.lint]\ncheck-paths = ["sample"]\nformat-paths = ["sample"]\n'
    files = {
        ".github/workflows/ci.yml": GOOD_WORKFLOW,
        "noxfile.py": SORTED_NOXFILE,
        "bench/slow.py": "import os\nx  =  1\n",
    }
    project = make_project(tmp_path, dev=DEV, ci_tasks=paths, files=files)
    result = project.nox("-s", "lint")
    assert result.returncode == 0, result.stdout
    assert "ruff format --check: sample (pyproject.toml [tool.ci-tasks.lint] format-paths)" in (
        result.stdout
    )
    project.write("sample/new.py", "y  =  2\n")
    result = project.nox("-s", "lint")
    assert result.returncode == 1, result.stdout
    found = {(f["rule"], f["file"]) for f in lint_report(project)["findings"]}
    assert found == {("format", "sample/new.py")}


def _mypy_hook(version: str, files: str | None = None) -> str:
    filters = f"        files: {files}\n" if files else ""
    return (
        "repos:\n  - repo: https://github.com/pre-commit/mirrors-mypy\n"
        f"    rev: v{version}\n    hooks:\n      - id: mypy\n{filters}"
        '        args: ["--warn-unused-ignores"]\n'
    )


def test_a_mypy_hook_sees_what_pre_commit_gives_it_not_the_ci_environment(tmp_path):
    """A pinned mypy hook: its own env (not the CI env's tomlkit), its files; a new error fails."""
    import importlib.metadata  # noqa: PLC0415

    files = {
        ".github/workflows/ci.yml": GOOD_WORKFLOW,
        "noxfile.py": SORTED_NOXFILE,
        ".pre-commit-config.yaml": _mypy_hook(importlib.metadata.version("mypy"), "^sample/"),
        # mypy's own configuration names no files: lint must pass it the hook's.
        "mypy.ini": "[mypy]\nstrict_optional = True\n",
        # The CI environment holds tomlkit; pre-commit's mypy env does not, so this
        # ignore is used there and unused in the CI environment.
        "sample/conf.py": "import tomlkit  # type: ignore[import-not-found]\n",
        "bench/bad.py": 'def g() -> int:\n    return "text"\n',
    }
    project = make_project(tmp_path, dev=["ruff==0.17.6"], files=files)
    git(project.path, "init", "-q", "-b", "main")
    git(project.path, "add", "-A")
    result = project.nox("-s", "lint")
    assert result.returncode == 0, result.stdout
    assert "mypy: its own environment of mypy, as pre-commit runs it" in result.stdout
    assert "mypy: --warn-unused-ignores the tracked files the hook covers" in result.stdout
    project.write("sample/bad.py", 'def f() -> int:\n    return "text"\n')
    git(project.path, "add", "sample/bad.py")
    result = project.nox("-s", "lint")
    assert result.returncode == 1, result.stdout
    [finding] = lint_report(project)["findings"]
    assert (finding["rule"], finding["file"], finding["line"]) == ("mypy", "sample/bad.py", 2)
