"""ci_tasks merged into a project's own noxfile: its block, two lines, and CI's matrix."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from ci_tasks.adopt import init, merge, scriptenv, workflows
from ci_tasks.core.actions import Output
from ci_tasks.core.errors import ConfigError
from ci_tasks.core.pins import Pin
from ci_tasks.registry import project_ci_sessions, replaced_stages
from tests.support.gitsupport import git
from tests.support.sample import REPO, clean_env, locked_nox, make_adopter, make_project

SPEC = scriptenv.ScriptSpec(">=3.11", ("ci-tasks==1.0", "nox==2025.2.9"))

WITH_BLOCK = """\
# /// script
# dependencies = ["nox>=2025.02.09", "packaging"]
# ///

from __future__ import annotations

import os

import nox

import packaging.version  # will always be present with nox


@nox.session(python=["3.10", "3.11"])
def tests(session: nox.Session) -> None:
    session.run("python", "-c", "print('THEIR TESTS')")


@nox.session(name="docs")
def build_docs(session: nox.Session) -> None:
    session.log(os.getcwd())


if __name__ == "__main__":
    nox.main()
"""

WITHOUT_BLOCK = '''\
#!/usr/bin/env python
# SPDX-License-Identifier: MIT
"""Sessions."""

import sys

import attr
import nox

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib


@nox.session
def tests(session):
    session.run("python", "-c", "print('THEIR TESTS')")
'''


def _added(old: str, new: str) -> list[str]:
    """*new*'s lines not in *old*, in order; asserts nothing of *old* was removed."""
    import difflib  # noqa: PLC0415

    diff = list(difflib.ndiff(old.splitlines(), new.splitlines()))
    removed = [line[2:] for line in diff if line.startswith("- ")]
    return [line[2:] for line in diff if line.startswith("+ ")] + [f"REMOVED {r}" for r in removed]


def test_a_block_keeps_every_requirement_and_gains_ci_tasks_and_the_floor():
    """The project's nox and packaging stay as written; ci-tasks and requires-python added."""
    merged = merge.merge(WITH_BLOCK, SPEC).text
    block = scriptenv.read_block(merged)
    assert block == {
        "requires-python": ">=3.11",
        "dependencies": ["nox>=2025.02.09", "packaging", "ci-tasks==1.0"],
    }
    assert _added(WITH_BLOCK, merged) == [
        '# requires-python = ">=3.11"',
        '# dependencies = ["nox>=2025.02.09", "packaging", "ci-tasks==1.0"]',
        "import ci_tasks",
        "ci_tasks.register()",
        "",
        "",
        # The guard's nox.main(): the same start, without nox re-checking what uv made.
        "    ci_tasks.main()",
        'REMOVED # dependencies = ["nox>=2025.02.09", "packaging"]',
        "REMOVED     nox.main()",
    ]
    # isort's place: with nox's run of third-party imports; register() after every session.
    assert "\nimport ci_tasks\nimport nox\n\nimport packaging" in merged
    assert '\n\n\nci_tasks.register()\n\n\nif __name__ == "__main__":' in merged


def test_without_a_block_one_is_made_under_the_shebang_and_the_guard_is_added():
    """No block: ours after the shebang; imports kept; a guard so `uv run --script` runs nox."""
    merged = merge.merge(WITHOUT_BLOCK, SPEC).text
    assert merged.startswith("#!/usr/bin/env python\n# /// script\n")
    assert merged.count("# ///") == 2
    assert "\n# ///\n\n# SPDX-License-Identifier: MIT\n" in merged
    assert "import attr\nimport ci_tasks\nimport nox\n\nif sys" in merged
    assert merged.endswith(
        '\n\n\nci_tasks.register()\n\n\nif __name__ == "__main__":\n    ci_tasks.main()\n'
    )
    assert not [line for line in _added(WITHOUT_BLOCK, merged) if line.startswith("REMOVED")]


@pytest.mark.parametrize("text", [WITH_BLOCK, WITHOUT_BLOCK])
def test_merging_again_changes_nothing(text):
    """A merged noxfile merges to itself."""
    once = merge.merge(text, SPEC).text
    assert merge.merge(once, SPEC).text == once


def test_ci_tasks_pin_moves_and_a_source_is_added_to_the_block():
    """A newer ci-tasks replaces the old pin; --ci-tasks-source lands in [tool.uv.sources]."""
    once = merge.merge(WITH_BLOCK, SPEC).text
    newer = scriptenv.ScriptSpec(
        ">=3.11", ("ci-tasks==2.0", "nox==2025.2.9"), (("ci-tasks", '{ path = "../ct" }'),)
    )
    block = scriptenv.read_block(merge.merge(once, newer).text)
    assert block is not None
    assert block["dependencies"] == ["nox>=2025.02.09", "packaging", "ci-tasks==2.0"]
    assert block["tool"] == {"uv": {"sources": {"ci-tasks": {"path": "../ct"}}}}


@pytest.mark.parametrize(
    ("requires", "expected"),
    [
        (">=3.8", ">=3.11"),
        (">=3.9,<3.14", ">=3.11,<3.14"),
        (">=3.12", ">=3.12"),
    ],
)
def test_a_lower_python_floor_in_the_block_is_raised_to_ci_tasks_own(requires, expected):
    """The block is the CI environment: its floor rises to ci_tasks'; other bounds stay."""
    text = f'# /// script\n# requires-python = "{requires}"\n# ///\nimport nox\n'
    block = scriptenv.read_block(merge.merge(text, SPEC).text)
    assert block is not None
    assert block["requires-python"] == expected


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("import nox\n\ndef broken(:\n", "noxfile.py: not valid Python (line 3"),
        (
            (
                'import nox\nif __name__ == "__main__":\n    nox.main()\n\n'
                "@nox.session\ndef late(session):\n    pass\n"
            ),
            "session 'late' is defined after `if __name__",
        ),
        ("# /// script\n# dependencies = []\n# ///\nimport os\n" * 2, "more than one"),
        ("# /// script\n# dependencies = [\n# ///\nimport nox\n", "not a table init can"),
        ('# /// script\n# requires-python = "<3.10"\n# ///\n', "admits no Python"),
        ("# /// script\n# dependencies = 3\n# ///\n", "dependencies must be an array"),
    ],
)
def test_a_noxfile_that_cannot_be_merged_safely_is_refused(text, why):
    """A syntax error, no place after every session, a bad block: one ConfigError line."""
    with pytest.raises(ConfigError, match=r"^noxfile\.py: ") as caught:
        merge.merge(text, SPEC)
    assert why in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_refused_noxfile_stops_init_before_anything_is_written(tmp_path):
    """`ci-tasks init` on a noxfile Python cannot parse: exit 2, one line, nothing written."""
    sample = make_project(tmp_path, lock=False)
    (sample.path / "noxfile.py").write_text("import nox\n\ndef broken(:\n")
    before = {p: p.read_bytes() for p in sample.path.rglob("*") if p.is_file()}
    done = sample.ci_tasks("init")
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1
    assert "noxfile.py: not valid Python (line 3" in done.stderr
    assert {p: p.read_bytes() for p in sample.path.rglob("*") if p.is_file()} == before


def test_dry_run_shows_the_noxfiles_exact_diff(tmp_path):
    """--dry-run prints the noxfile's unified diff and writes nothing."""
    sample = make_project(tmp_path, lock=False)
    (sample.path / "noxfile.py").write_text(WITH_BLOCK)
    stream = io.StringIO()
    init.run(sample.path, dry_run=True, out=Output(stream=stream, env={}))
    shown = stream.getvalue()
    assert (sample.path / "noxfile.py").read_text() == WITH_BLOCK
    assert "would update  noxfile.py (merged: requires-python >=3.11" in shown
    assert "    --- noxfile.py\n    +++ noxfile.py\n" in shown
    assert "    +import ci_tasks\n     import nox\n" in shown
    assert "    +ci_tasks.register()\n" in shown


# nox's own noxfile: there nox is first-party, so ci_tasks goes in a block of its own.
FIRST_PARTY_NOX = "from __future__ import annotations\n\nimport os\n\nimport nox\n\nX = os.sep\n"


@pytest.mark.parametrize(
    ("text", "first_party", "expected"),
    [
        (WITH_BLOCK, "packaging", "\nimport ci_tasks\nimport nox\n\nimport packaging.version"),
        (WITHOUT_BLOCK, "", "\nimport attr\nimport ci_tasks\nimport nox\n"),
        (FIRST_PARTY_NOX, "nox", "\nimport os\n\nimport ci_tasks\n\nimport nox\n\nX ="),
        ("import os\n\nX = os.sep\n", "", "\nimport os\n\nimport ci_tasks\n\nX ="),
    ],
)
def test_the_merged_noxfile_passes_the_projects_isort_rules(tmp_path, text, first_party, expected):
    """Ruff's import sorting (I001) finds nothing to move: ci_tasks sits in its section."""
    known = f'known-first-party = ["{first_party}"]\n' if first_party else ""
    (tmp_path / "ruff.toml").write_text(f"[lint.isort]\n{known}")
    path = tmp_path / "noxfile.py"
    merged = merge.merge(text, SPEC, first_party=frozenset({first_party} - {""})).text
    path.write_text(merged)
    assert expected in merged
    done = subprocess.run(
        [Path(sys.executable).parent / "ruff", "check", "--select", "I", path],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout


def test_ci_sessions_must_name_sessions_the_noxfile_defines():
    """Replacing sessions come first, then ci-sessions; an unknown name is one line."""
    assert project_ci_sessions(["docs", "tests"], ["docs"], "p.toml") == ["tests", "docs"]
    with pytest.raises(ConfigError) as caught:
        project_ci_sessions(["docs", "tests"], ["doc"], "p.toml")
    assert str(caught.value) == (
        "p.toml: [tool.ci-tasks] ci-sessions: unknown session 'doc'; "
        "the noxfile defines: docs, tests"
    )


def _matrix(root: Path) -> dict[str, list[dict[str, object]]]:
    """The matrix ci.yml's list job computes, by running that step's own script here."""
    ci = yaml.safe_load((root / ".github/workflows/ci.yml").read_text())
    step = next(s for s in ci["jobs"]["sessions"]["steps"] if s.get("id") == "list")
    script = step["run"].replace(workflows.NOX, f"{sys.executable} -m nox")
    env = clean_env({**step["env"], "GITHUB_OUTPUT": str(root / "github-output")})
    subprocess.run(["bash", "-c", script], cwd=root, env=env, check=True)
    return json.loads((root / "matrix.json").read_text())


def test_ci_matrix_runs_the_projects_own_tests_in_place_of_ours_and_ci_sessions(tmp_path):
    """ci.yml's matrix holds the project's tests (each Python) and docs; ours where no clash."""
    pyproject = (
        '[project]\nname = "sample"\nversion = "0"\nrequires-python = ">=3.11"\n\n'
        '[tool.ci-tasks]\nci-sessions = ["docs"]\n'
    )
    sample = make_project(tmp_path, files={"pyproject.toml": pyproject}, lock=False)
    (sample.path / "noxfile.py").write_text(WITH_BLOCK)
    result = init.plan(sample.path)
    for change in result.changes:  # what init writes after locking, without the lock
        if change.writes:
            (sample.path / change.path).parent.mkdir(parents=True, exist_ok=True)
            (sample.path / change.path).write_text(change.text)
    shown = "\n".join(result.notes)
    assert "CI's matrix runs your tests in place of ci_tasks' own; docs (from [tool" in shown
    matrix = _matrix(sample.path)
    # The noxfile's own tests are never handed --wheel: they run in the plain session jobs.
    sessions = [entry["session"] for entry in matrix["other"]]
    assert sessions == ["tests-3.10", "tests-3.11", "docs", "lint", "security"]
    assert [entry["session"] for entry in matrix["build"]] == ["build"]
    assert matrix["tests"] == []
    run = subprocess.run(
        [sys.executable, "-m", "nox", "-s", "tests-3.11"],
        cwd=sample.path,
        env=clean_env({"PYENV_VERSION": os.environ.get("PYENV_VERSION", "3.11.7")}),
        capture_output=True,
        text=True,
        check=False,
    )
    assert "THEIR TESTS" in run.stdout + run.stderr


def test_an_unknown_ci_session_ends_nox_with_one_line_and_exit_2(tmp_path):
    """ci-sessions naming what the noxfile lacks: nox stops at register(), exit 2."""
    pyproject = '[project]\nname = "s"\nversion = "0"\n\n[tool.ci-tasks]\nci-sessions = ["doc"]\n'
    sample = make_project(tmp_path, files={"pyproject.toml": pyproject}, lock=False)
    # The running versions: nox finds the block's requirements met and uses this env.
    merged = merge.merge(WITH_BLOCK, scriptenv.ScriptSpec.default()).text
    (sample.path / "noxfile.py").write_text(merged)
    done = sample.nox("-l")
    assert done.returncode == 2
    assert "ci-sessions: unknown session 'doc'; the noxfile defines: tests, docs" in done.stdout


def test_init_refuses_an_unknown_ci_session_before_writing(tmp_path):
    """Init reads the noxfile's sessions too: an unknown ci-sessions name is exit 2, no write."""
    pyproject = '[project]\nname = "s"\nversion = "0"\n\n[tool.ci-tasks]\nci-sessions = ["doc"]\n'
    sample = make_project(tmp_path, files={"pyproject.toml": pyproject}, lock=False)
    (sample.path / "noxfile.py").write_text(WITH_BLOCK)
    before = {p: p.read_bytes() for p in sample.path.rglob("*") if p.is_file()}
    done = sample.ci_tasks("init")
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1
    assert "ci-sessions: unknown session 'doc'; the noxfile defines: tests, docs" in done.stderr
    assert {p: p.read_bytes() for p in sample.path.rglob("*") if p.is_file()} == before


@pytest.mark.slow
def test_end_to_end_a_nox_project_adopts_in_one_command_and_ci_runs_both_sets(tmp_path):
    """Init, commit: the locked noxfile lists theirs and ours; their tests and our lint run."""
    sample = make_adopter(tmp_path)
    own = WITH_BLOCK.replace('python=["3.10", "3.11"]', "python=False")
    own = own.replace("\nimport packaging.version  # will always be present with nox\n", "")
    (sample.path / "noxfile.py").write_text(own)
    git(sample.path, "add", "noxfile.py")
    git(sample.path, "commit", "-qm", "their noxfile")
    done = sample.ci_tasks("init", "--ci-tasks-source", str(REPO))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "created  noxfile.py.lock" in done.stdout
    assert (sample.path / ".github/workflows/ci.yml").is_file()
    git(sample.path, "add", "-A")
    git(sample.path, "commit", "-qm", "adopt ci_tasks")
    diff = git(sample.path, "diff", "HEAD~1", "--", "noxfile.py")
    changed = [line for line in diff.splitlines() if line[:1] in "+-" and line[:3] not in "+++---"]
    assert [line for line in changed if line.startswith("-")] == [
        '-# dependencies = ["nox>=2025.02.09", "packaging"]',
        "-    nox.main()",  # now ci_tasks.main(), which starts nox
    ]
    listed = locked_nox(sample, "-l", "--json", "-t", "ci")
    sessions = json.loads(next(x for x in listed.stdout.splitlines() if x.startswith("[")))
    assert [s["session"] for s in sessions] == ["tests", "lint", "security", "build"]
    assert listed.stdout.count("the noxfile defines 'tests' itself") == 1  # run twice, said once
    assert "THEIR TESTS" in locked_nox(sample, "-s", "tests").stdout
    run = locked_nox(sample, "-s", "lint")
    assert run.returncode == 0, run.stdout


def test_a_noxfile_importing_only_from_nox_gets_ci_tasks_before_it_and_a_guard():
    """`from nox import session`: import ci_tasks above it (isort); ci_tasks starts nox."""
    text = "from nox import session\n\n\n@session\ndef docs(s):\n    pass\n"
    merged = merge.merge(text, SPEC).text
    assert "# ///\n\nimport ci_tasks\nfrom nox import session\n" in merged
    assert merged.endswith('if __name__ == "__main__":\n    ci_tasks.main()\n')
    assert merge.read_sessions(merged) == ["docs"]


def test_crlf_line_endings_are_kept():
    """A noxfile written with CRLF stays CRLF throughout, the added lines too."""
    merged = merge.merge(WITH_BLOCK.replace("\n", "\r\n"), SPEC).text
    assert "\r\nimport ci_tasks\r\nimport nox\r\n" in merged
    assert merged.count("\n") == merged.count("\r\n")


def test_an_existing_block_takes_the_tools_pinned_in_pre_commit_too():
    """A project's own block gains the pre-commit ruff pin, as a block init writes does."""
    spec = scriptenv.ScriptSpec(
        SPEC.requires_python, SPEC.dependencies, pins=(Pin("ruff", "0.15.15"),)
    )
    block = scriptenv.read_block(merge.merge(WITH_BLOCK, spec).text)
    assert block is not None
    assert block["tool"] == {"uv": {"override-dependencies": ["ruff==0.15.15"]}}
    assert block["dependencies"] == ["nox>=2025.02.09", "packaging", "ci-tasks==1.0"]


class _NoxFunc:
    """What nox's registry holds for a session: the function, wrapped (``.func``)."""

    def __init__(self, func: object) -> None:
        self.func = func


def _projects_tests() -> None:
    """Stands in for a noxfile's own `tests` session: this file defines it."""


def test_register_records_which_stages_the_noxfiles_own_sessions_replace():
    """The noxfile's `tests` takes the tests stage's place, named with its noxfile; docs none."""
    own = {"tests": _NoxFunc(_NoxFunc(_projects_tests)), "docs": _NoxFunc(_projects_tests)}
    replaced = replaced_stages(own, ["lint", "tests", "preflight"])
    assert list(replaced) == ["tests"]
    assert replaced["tests"].sessions == ("tests",)
    assert replaced["tests"].noxfile == Path(__file__).resolve()
    assert replaced["tests"].shown == "the project's own `tests` session"


def test_the_guards_nox_main_starts_through_ci_tasks_and_the_rest_of_it_is_kept():
    """``nox.main()`` under the guard becomes ``ci_tasks.main()``; other lines stay as written."""
    text = (
        "import nox\n\n\n@nox.session\ndef docs(s):\n    pass\n\n\n"
        'if __name__ == "__main__":\n    print("starting")\n    nox.main()  # go\n'
    )
    done = merge.merge(text, SPEC)
    assert done.text.endswith(
        'if __name__ == "__main__":\n    print("starting")\n    ci_tasks.main()  # go\n'
    )
    assert "nox.main() -> ci_tasks.main() (nox skips re-checking what uv installed)" in done.notes
    assert merge.merge(done.text, SPEC).text == done.text  # merging again changes nothing
    other = text.replace("nox.main()", "nox.main(['-s', 'docs'])")
    assert "nox.main(['-s', 'docs'])" in merge.merge(other, SPEC).text  # not the plain start
