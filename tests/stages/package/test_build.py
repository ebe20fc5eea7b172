"""The ``build`` session end to end: real nox, real uv builds, on sample projects.

Two projects keep this quick: a good one (in git, every check passes) and a bad one
(no git, no README in its metadata, a build hook that stamps the time, a module left out
of the wheel) whose single run must report every one of those problems.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from tests.support.sample import TEST_TOOLS, Project, clean_env, make_project, pyproject

pytestmark = pytest.mark.slow

GOOD_INIT = '''\
"""A sample package."""

__version__ = "0.1.0"


def add(a, b):
    return a + b


def main():
    from importlib.metadata import version

    # The lock holds packaging back at 24.0: the install test must install that one.
    print(f"sample {__version__}, packaging {version('packaging')}")
    return 0 if version("packaging") == "24.0" else 1
'''

STAMP_HOOK = """\
import os
import time

from hatchling.builders.hooks.plugin.interface import BuildHookInterface


class StampHook(BuildHookInterface):
    def initialize(self, version, build_data):
        with open(os.path.join(self.root, "sample", "_stamp.py"), "w") as fh:
            fh.write(f"BUILT_AT = {time.time_ns()}\\n")
"""


def _with_project_keys(text: str, keys: str) -> str:
    return text.replace('version = "0.1.0"\n', f'version = "0.1.0"\n{keys}', 1)


def _git(path, *args):
    subprocess.run(["git", *args], cwd=path, check=True, capture_output=True, env=clean_env())


def _git_out(path, *args):
    done = subprocess.run(
        ["git", *args], cwd=path, check=True, capture_output=True, text=True, env=clean_env()
    )
    return done.stdout


def _report(project):
    return json.loads((project.path / ".ci-tasks" / "build-report.json").read_text())


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    path = tmp_path_factory.mktemp("good")
    text = pyproject(
        dependencies=["packaging"],
        ci_tasks='build.command = "sample --version"',
        extra='[project.scripts]\nsample = "sample:main"\n',
    )
    text = _with_project_keys(text, 'readme = "README.md"\n')
    project = make_project(
        path,
        files={
            "pyproject.toml": text,
            "sample/__init__.py": GOOD_INIT,
            ".gitignore": "dist/\n.ci-tasks/\n.nox/\n",
        },
    )
    subprocess.run(
        ["uv", "lock", "--quiet", "--upgrade-package", "packaging==24.0"],
        cwd=path,
        env=clean_env(),
        check=True,
    )
    _git(path, "init", "-q")
    _git(path, "add", "-A")
    _git(path, "-c", "user.name=t", "-c", "user.email=t@e", "commit", "-qm", "initial")
    result = project.nox("-s", "build")
    return project, result


@pytest.fixture(scope="module")
def bad(tmp_path_factory):
    path = tmp_path_factory.mktemp("bad")
    extra = (
        "[tool.hatch.build.hooks.custom]\n\n"
        '[tool.hatch.build.targets.wheel]\nexclude = ["sample/_impl.py"]\n'
    )
    project = make_project(
        path,
        extra=extra,
        files={
            "hatch_build.py": STAMP_HOOK,
            "sample/__init__.py": "from sample._impl import add\n",
            "sample/_impl.py": "def add(a, b):\n    return a + b\n",
        },
    )
    summary = path / "step-summary.md"
    summary.touch()
    return project, project.nox("-s", "build", env={"GITHUB_STEP_SUMMARY": str(summary)})


def test_good_project_passes_every_check(good):
    """A well-made project passes every check: build, verify, reproduce, install, command, SBOM."""
    project, result = good
    assert result.returncode == 0, result.stdout
    report = _report(project)
    assert report["verdict"] == "passed"
    assert {name: c["status"] for name, c in report["checks"].items()} == {
        "build": "passed",
        "twine": "passed",
        "wheel-contents": "passed",
        "sdist-contents": "passed",
        "reproducible": "passed",
        "install": "passed",
        "command": "passed",
        "sbom": "passed",
    }
    # `sample --version` exits 0 only with the locked packaging 24.0, not today's latest.
    assert report["checks"]["command"]["status"] == "passed"
    install = report["checks"]["install"]["message"]
    assert install == "imported sample (dependencies at uv.lock's versions)"
    assert report["source_date_epoch"]["source"].startswith("last commit ")
    # Its tools come from the CI environment: nox made no venv and installed nothing.
    assert not (project.path / ".nox" / "build").exists()


def test_good_report_lists_both_artifacts_with_their_hashes(good):
    """The report names the sdist and the wheel with the size and SHA-256 of the files in dist/."""
    project, _ = good
    artifacts = {a["name"]: a for a in _report(project)["artifacts"]}
    assert set(artifacts) == {"sample-0.1.0.tar.gz", "sample-0.1.0-py3-none-any.whl"}
    for name, entry in artifacts.items():
        data = (project.path / "dist" / name).read_bytes()
        assert entry["sha256"] == hashlib.sha256(data).hexdigest()
        assert entry["size"] == len(data)
    assert _report(project)["commit"]


def test_good_project_sbom_lists_locked_runtime_dependencies(good):
    """The CycloneDX SBOM beside the artifacts lists the runtime dependency, not the dev group."""
    project, _ = good
    sbom = json.loads((project.path / "dist" / "sample-0.1.0.cdx.json").read_text())
    assert sbom["bomFormat"] == "CycloneDX"
    assert sbom["metadata"]["component"]["name"] == "sample"
    names = [c["name"] for c in sbom["components"]]
    assert "packaging" in names
    assert "pytest" not in names


def test_no_reproduce_skips_the_second_build(good):
    """``--no-reproduce`` builds once and reports reproducibility as skipped, not passed."""
    project, _ = good
    result = project.nox("-s", "build", "--", "--no-reproduce")
    assert result.returncode == 0, result.stdout
    assert _report(project)["checks"]["reproducible"]["status"] == "skipped"
    assert result.stdout.count("Successfully built") == 2  # one sdist and one wheel


def test_unknown_posarg_is_a_usage_error(good):
    """An unknown argument ends the session with exit code 2 and names the argument."""
    project, _ = good
    result = project.nox("-s", "build", "--", "--no-such-flag")
    assert result.returncode == 2
    assert "--no-such-flag" in result.stdout


def test_bad_project_fails_with_exit_code_1(bad):
    """A project with problems fails the session (exit 1) and says so in its report."""
    project, result = bad
    assert result.returncode == 1, result.stdout
    assert _report(project)["verdict"] == "failed"


def test_missing_readme_fails_twine_check(bad):
    """No README in the metadata fails ``twine check --strict`` with twine's own message."""
    project, result = bad
    twine = _report(project)["checks"]["twine"]
    assert twine["status"] == "failed"
    assert "`long_description` missing" in twine["message"]
    assert "`long_description` missing" in result.stdout


def test_build_timestamp_fails_reproducibility_naming_the_file(bad):
    """A build hook writing the time makes two builds differ, and the file inside is named."""
    project, _ = bad
    check = _report(project)["checks"]["reproducible"]
    assert check["status"] == "failed"
    assert "sample-0.1.0-py3-none-any.whl: sample/_stamp.py: content differs" in check["message"]


def test_module_left_out_of_wheel_fails_the_install_test(bad):
    """A module present in the source tree but not in the wheel fails the import, named."""
    project, _ = bad
    check = _report(project)["checks"]["install"]
    assert check["status"] == "failed"
    assert "import sample failed" in check["message"]
    assert "No module named 'sample._impl'" in check["message"]


def test_without_git_a_fixed_epoch_is_used_and_said(bad):
    """Outside git there is no commit time: the fixed 1980 epoch is used and reported."""
    project, result = bad
    epoch = _report(project)["source_date_epoch"]
    assert epoch == {"source": "no git commit: fixed epoch 1980-01-01", "value": 315532800}
    assert "SOURCE_DATE_EPOCH=315532800" in result.stdout


def test_step_summary_has_a_row_per_check(bad):
    """Under Actions the job summary gets the verdict and one table row per check."""
    project, _ = bad
    text = (project.path / "step-summary.md").read_text()
    assert "### build: failed" in text
    assert "| twine | ❌ failed |" in text
    assert "| wheel-contents | ✅ passed |" in text


def test_this_repository_builds_reproducibly(tmp_path):
    """ci_tasks' own ``nox -s build`` passes, twice-built artifacts identical (on a copy)."""
    repo = Path(__file__).resolve().parents[3]
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=repo, check=True, capture_output=True, text=True
    ).stdout
    for name in filter(None, listed.split("\0")):
        if (repo / name).is_file():
            (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(repo / name, tmp_path / name)
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", "-A")
    _git(tmp_path, "-c", "user.name=t", "-c", "user.email=t@e", "commit", "-qm", "copy")
    result = Project(tmp_path).nox("-s", "build")
    assert result.returncode == 0, result.stdout
    report = _report(Project(tmp_path))
    assert report["checks"]["reproducible"]["status"] == "passed"
    assert report["checks"]["install"]["message"].startswith("imported ci_tasks")
    assert {a["name"] for a in report["artifacts"]} == {
        "ci_tasks-0.1.0.tar.gz",
        "ci_tasks-0.1.0-py3-none-any.whl",
    }


SETUPTOOLS_SYSTEM = """\
[build-system]
requires = ["setuptools>=77"]
build-backend = "setuptools.build_meta"
"""

SETUP_STAMPING_TIME = """\
import time

from setuptools import setup

with open("sample/_stamp.py", "w") as fh:
    fh.write(f"BUILT_AT = {time.time_ns()}\\n")
setup()
"""


def _setuptools_project(path: Path, *, ci_tasks: str = "", files=None) -> Project:
    text = pyproject(ci_tasks=ci_tasks, extra='[tool.setuptools]\npackages = ["sample"]\n')
    text = text.replace(
        '[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n',
        SETUPTOOLS_SYSTEM,
    )
    text = _with_project_keys(text, 'readme = "README.md"\n')
    project = make_project(
        path, files={"pyproject.toml": text, ".gitignore": ".ci-tasks/\n", **(files or {})}
    )
    _git(path, "init", "-q")
    _git(path, "add", "-A")
    _git(path, "-c", "user.name=t", "-c", "user.email=t@e", "commit", "-qm", "initial")
    return project


@pytest.fixture(scope="module")
def setuptools_sample(tmp_path_factory):
    project = _setuptools_project(tmp_path_factory.mktemp("setuptools"))
    result = project.nox("-s", "build")
    return project, result, _report(project)


def test_setuptools_sample_builds_reproducibly_by_contents(setuptools_sample):
    """A setuptools sdist differing only in build-time mtimes passes, setuptools named."""
    _, result, report = setuptools_sample
    assert result.returncode == 0, result.stdout
    check = report["checks"]["reproducible"]
    assert check["status"] == "passed"
    assert check["artifacts"] == {
        "sample-0.1.0.tar.gz": "contents identical",
        "sample-0.1.0-py3-none-any.whl": "byte-identical",
    }
    assert (
        "sample-0.1.0.tar.gz: setuptools stamps sdists with build-time metadata (member "
        "timestamps, gzip header mtime; pypa/setuptools#2133); contents identical"
    ) in check["message"]
    assert "sample-0.1.0-py3-none-any.whl: byte-identical" in result.stdout


def test_reproducible_bytes_fails_the_same_setuptools_sample(setuptools_sample):
    """``reproducible = "bytes"`` keeps the strict check: the same sdist fails, PKG-INFO named."""
    project, _, _ = setuptools_sample
    text = (project.path / "pyproject.toml").read_text()
    project.write(
        "pyproject.toml",
        text.replace("[tool.ci-tasks]\n", '[tool.ci-tasks]\nbuild.reproducible = "bytes"\n'),
    )
    result = project.nox("-s", "build")
    assert result.returncode == 1, result.stdout
    check = _report(project)["checks"]["reproducible"]
    assert check["status"] == "failed"
    assert "sample-0.1.0.tar.gz: sample-0.1.0/PKG-INFO: timestamp differs" in check["message"]
    assert check["artifacts"]["sample-0.1.0-py3-none-any.whl"] == "byte-identical"


def test_setuptools_sample_writing_the_time_into_a_member_fails(tmp_path):
    """A setup.py that writes the build time into a module fails by contents, the member named."""
    project = _setuptools_project(tmp_path, files={"setup.py": SETUP_STAMPING_TIME})
    result = project.nox("-s", "build")
    assert result.returncode == 1, result.stdout
    check = _report(project)["checks"]["reproducible"]
    assert check["status"] == "failed"
    assert "sample-0.1.0.tar.gz: sample-0.1.0/sample/_stamp.py: content differs" in check["message"]


def _members(sdist: Path) -> list[str]:
    with tarfile.open(sdist) as archive:
        return archive.getnames()


def _commit(path, message="initial"):
    _git(path, "add", "-A")
    _git(path, "-c", "user.name=t", "-c", "user.email=t@e", "commit", "-qm", message)


def test_hatchling_project_without_init_builds_without_its_ci_tasks_folder(tmp_path):
    """No `.ci-tasks/` in .gitignore (no init): tests then build passes, the folder not shipped."""
    text = _with_project_keys(pyproject(dev=TEST_TOOLS), 'readme = "README.md"\n')
    project = make_project(tmp_path, files={"pyproject.toml": text, ".gitignore": ".nox/\n"})
    _git(tmp_path, "init", "-q")
    _commit(tmp_path)
    tests = project.nox("-s", "tests")
    assert tests.returncode == 0, tests.stdout
    assert (tmp_path / ".ci-tasks" / "test-durations.json").is_file()  # what tests wrote
    result = project.nox("-s", "build", "--", "--no-reproduce")
    assert result.returncode == 0, result.stdout
    assert _report(project)["checks"]["sdist-contents"]["status"] == "passed"
    assert not [n for n in _members(tmp_path / "dist" / "sample-0.1.0.tar.gz") if ".ci-tasks" in n]
    # The folders the sessions wrote ignore themselves: git lists none of their files.
    assert _git_out(tmp_path, "status", "--porcelain", "--untracked-files=all") == ""


FLIT_SYSTEM = """\
[build-system]
requires = ["flit_core>=3.9,<4"]
build-backend = "flit_core.buildapi"
"""


def test_flit_project_with_example_projects_builds_clean_after_ruff(tmp_path):
    """Caches ruff left in examples/*/ and ignored files stay out; an untracked module is in."""
    text = pyproject(extra='[tool.flit.sdist]\ninclude = ["examples/"]\n')
    text = text.replace(
        '[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n',
        FLIT_SYSTEM,
    )
    text = _with_project_keys(text, 'readme = "README.md"\ndescription = "A sample."\n')
    example = '[project]\nname = "demo"\nversion = "0"\n\n[tool.ruff]\nline-length = 90\n'
    files = {
        "pyproject.toml": text,
        ".gitignore": ".nox/\nsample/local_settings.py\n",
        "examples/one/pyproject.toml": example,
        "examples/one/demo.py": "print('one')\n",
        "examples/two/pyproject.toml": example,
        "examples/two/demo.py": "print('two')\n",
    }
    project = make_project(tmp_path, files=files)
    _git(tmp_path, "init", "-q")
    _commit(tmp_path)
    ruff = Path(sys.executable).with_name("ruff")
    subprocess.run([str(ruff), "check", "-q", "."], cwd=tmp_path, env=clean_env(), check=False)
    assert (tmp_path / "examples" / "one" / ".ruff_cache").is_dir()  # what ruff leaves
    project.write("sample/extra.py", "VALUE = 1\n")  # new, not yet committed, not ignored
    project.write("sample/local_settings.py", "SECRET = 1\n")  # ignored
    result = project.nox("-s", "build")
    assert result.returncode == 0, result.stdout
    report = _report(project)
    assert report["checks"]["sdist-contents"]["status"] == "passed"
    assert report["checks"]["reproducible"]["status"] == "passed"
    names = _members(tmp_path / "dist" / "sample-0.1.0.tar.gz")
    assert "sample-0.1.0/examples/one/demo.py" in names
    assert "sample-0.1.0/sample/extra.py" in names
    assert not [n for n in names if ".ruff_cache" in n or n.endswith("local_settings.py")]
    assert "files git would commit, in a clone of" in result.stdout


VCS_PYPROJECT = """\
[build-system]
requires = ["hatchling", "hatch-vcs"]
build-backend = "hatchling.build"

[project]
name = "sample"
dynamic = ["version"]
readme = "README.md"
requires-python = ">=3.11"

[tool.hatch.version]
source = "vcs"
"""


@pytest.fixture(scope="module")
def tagged(tmp_path_factory):
    """A hatch-vcs project tagged v1.2.3 that commits an old ci-tasks report, and its build."""
    path = tmp_path_factory.mktemp("tagged")
    files = {"pyproject.toml": VCS_PYPROJECT, ".ci-tasks/old-report.json": "{}\n"}
    project = make_project(path, lock=False, files=files)
    _git(path, "init", "-q")
    _commit(path)
    project.lock()
    _commit(path, "lock")
    _git(path, "tag", "v1.2.3")
    result = project.nox("-s", "build")
    return project, result, _report(project)


def test_tag_versioned_project_builds_the_tags_version_from_the_copy(tagged):
    """hatch-vcs in the clean copy computes the tag's version, clean, as a fresh checkout does."""
    _, _, report = tagged
    assert report["checks"]["build"]["status"] == "passed"
    assert {a["name"] for a in report["artifacts"]} == {
        "sample-1.2.3.tar.gz",
        "sample-1.2.3-py3-none-any.whl",
    }
    assert report["checks"]["reproducible"]["status"] == "passed"


def test_committed_stray_file_is_still_flagged(tagged):
    """Junk git tracks is what CI builds too: sdist-contents still names it, and the fix."""
    project, result, report = tagged
    assert result.returncode == 1, result.stdout
    check = report["checks"]["sdist-contents"]
    assert check["status"] == "failed"
    assert check["message"] == (
        "sample-1.2.3.tar.gz contains sample-1.2.3/.ci-tasks/; .ci-tasks/ holds ci-tasks' "
        "outputs: if git tracks it, `git rm -r --cached .ci-tasks`; outside git, add "
        "`.ci-tasks/` to the top-level .gitignore (`ci-tasks init` does; hatchling reads only "
        "that one)"
    )
    # The build changed nothing git sees in the project: its copy was a clone elsewhere.
    assert _git_out(project.path, "status", "--porcelain", "--untracked-files=all") == ""
    assert _git_out(project.path, "tag") == "v1.2.3\n"
