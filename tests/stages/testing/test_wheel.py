"""Testing the built wheel: choosing it, what it holds, what its tests say it lacks; end to end."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from ci_tasks.adopt import workflows
from ci_tasks.core.config import load_config
from ci_tasks.core.errors import UsageError
from ci_tasks.stages.testing import wheel
from ci_tasks.stages.testing.config import TestsConfig
from ci_tasks.stages.testing.session import parse_posargs
from tests.support import actionlint
from tests.support.sample import TEST_TOOLS, clean_env, make_project


def _wheel(folder: Path, name: str, members: list[str]) -> Path:
    path = folder / name
    with zipfile.ZipFile(path, "w") as archive:
        for member in members:
            archive.writestr(member, "")
    return path


def test_a_folder_gives_its_one_pure_wheel(tmp_path):
    """`--wheel dist/` takes the pure wheel beside the sdist; a platform wheel is not it."""
    pure = _wheel(tmp_path, "pkg-1.0-py3-none-any.whl", ["pkg/__init__.py"])
    (tmp_path / "pkg-1.0.tar.gz").write_bytes(b"")
    _wheel(tmp_path, "pkg-1.0-cp311-cp311-manylinux_2_17_x86_64.whl", [])
    assert wheel.choose(tmp_path) == pure
    assert wheel.choose(pure) == pure


def test_a_folder_without_a_pure_wheel_gives_none(tmp_path):
    """Only platform wheels: none to test on every OS, so the session tests the project."""
    _wheel(tmp_path, "pkg-1.0-cp311-cp311-win_amd64.whl", [])
    assert wheel.choose(tmp_path) is None


@pytest.mark.parametrize(
    ("files", "said"),
    [
        (["a-1.0-py3-none-any.whl", "b-1.0-py2.py3-none-any.whl"], "more than one pure wheel"),
        (["notes.txt"], "not a wheel"),
        ([], "no such file or folder"),
    ],
)
def test_an_unclear_wheel_is_a_usage_error_naming_it(tmp_path, files, said):
    """Two pure wheels, a file that is no wheel, a missing path: one line naming it."""
    for name in files:
        (tmp_path / name).write_bytes(b"")
    given = tmp_path / files[0] if files == ["notes.txt"] else tmp_path / "dist"
    if len(files) > 1:
        given = tmp_path
    with pytest.raises(UsageError, match=said):
        wheel.choose(given)


def test_top_level_names_are_its_packages_and_modules():
    """Packages, single modules and namespace roots; never its metadata folders."""
    names = [
        "pkg/__init__.py",
        "pkg/sub/x.py",
        "solo.py",
        "ns/part/y.py",
        "pkg-1.0.dist-info/RECORD",
        "pkg-1.0.data/scripts/tool",
    ]
    assert wheel.top_level(names) == ("pkg", "solo", "ns")


def test_missing_modules_are_the_wheels_own_only():
    """`No module named 'pkg.sub'` names the wheel's gap; a missing third-party one does not."""
    messages = [
        "E   ModuleNotFoundError: No module named 'pkg.sub'",
        "ModuleNotFoundError: No module named 'requests'",
        "ModuleNotFoundError: No module named 'pkg.sub'",
    ]
    assert wheel.missing_modules(messages, ("pkg",)) == ["pkg.sub"]
    assert wheel.lacks_message(Path("dist/pkg-1.0-py3-none-any.whl"), "pkg.sub") == (
        "the wheel dist/pkg-1.0-py3-none-any.whl lacks pkg.sub: tests import it; "
        "add it to the build configuration"
    )


def test_pytest_flags_append_and_drop_the_pythonpath_entries_holding_the_package(tmp_path):
    """Import mode append (unless given); `pythonpath` loses `src`, keeps `tests/helpers`."""
    (tmp_path / "src/pkg").mkdir(parents=True)
    (tmp_path / "tests/helpers").mkdir(parents=True)
    flags = wheel.pytest_flags(tmp_path, ("pkg",), ["src", "tests/helpers"], [])
    assert flags == ["--import-mode=append", "-o", "pythonpath=tests/helpers"]
    assert wheel.pytest_flags(tmp_path, ("pkg",), [], ["--import-mode=importlib"]) == []


def test_imports_from_the_tree_are_named_and_the_venvs_are_not(tmp_path):
    """A package imported from the project's folder is named; one from .nox/'s venv is fine."""
    venv = tmp_path / ".nox/tests-3-11"
    imported = {
        "pkg": str(tmp_path / "pkg/__init__.py"),
        "other": str(venv / "lib/site-packages/other/__init__.py"),
    }
    assert wheel.from_tree(imported, tmp_path, venv) == {"pkg": "pkg/__init__.py"}


def test_wheel_posarg_is_the_sessions_and_the_rest_goes_to_pytest():
    """`--wheel dist/` and `--wheel=dist/x.whl` are taken out; pytest gets the rest."""
    options = parse_posargs(["--wheel", "dist/", "-k", "fast"], TestsConfig())
    assert options.wheel == Path("dist/")
    assert options.pytest_args == ("-k", "fast")
    assert parse_posargs(["--wheel=dist/x.whl"], TestsConfig()).wheel == Path("dist/x.whl")
    with pytest.raises(UsageError, match="--wheel needs a path"):
        parse_posargs(["--wheel"], TestsConfig())


# A flat layout with a conftest.py at the top (pytest's usual prepend would put the tree
# first on sys.path) whose wheel leaves out `sample.sub`: its build configuration excludes it.
EXCLUDING = """
[tool.hatch.build.targets.wheel]
packages = ["sample"]
exclude = ["sample/sub"]
"""
SUB_TEST = "from sample.sub import twice\n\n\ndef test_twice():\n    assert twice(2) == 4\n"
WHERE_TEST = """\
import sample
from tests.support import VALUE  # the tree's, which the wheel does not ship


def test_imported_from_the_wheel():
    assert "site-packages" in sample.__file__, sample.__file__
    assert VALUE == 2
"""


@pytest.mark.slow
def test_a_wheel_that_leaves_out_a_subpackage_fails_naming_it(tmp_path):
    """The tree passes; the wheel fails naming sample.sub; its ci.yml wires build to tests."""
    sample = make_project(
        tmp_path,
        dev=list(TEST_TOOLS),
        extra=EXCLUDING,
        files={
            "conftest.py": "",
            "sample/sub/__init__.py": "def twice(x):\n    return 2 * x\n",
            "tests/test_sub.py": SUB_TEST,
            "tests/test_where.py": WHERE_TEST,
            "tests/support/__init__.py": "VALUE = 2\n",
        },
    )
    env = clean_env()
    tree = subprocess.run(
        ["uv", "run", "--locked", "pytest", "-q", "tests/test_sub.py"],
        cwd=sample.path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert tree.returncode == 0, tree.stdout + tree.stderr
    built = subprocess.run(
        ["uv", "build", "--wheel", "--out-dir", "dist"],
        cwd=sample.path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    (name,) = [p.name for p in (sample.path / "dist").glob("*.whl")]
    assert name == "sample-0.1.0-py3-none-any.whl", built.stderr

    failed = sample.nox("-s", "tests-3.11", "--", "--wheel", "dist/")
    assert failed.returncode == 1, failed.stdout
    lacks = f"the wheel dist/{name} lacks sample.sub: tests import it; add it to the build"
    assert lacks in failed.stdout
    # uv installs the project from the wheel file, not from the tree.
    assert f"+ sample==0.1.0 (from file://{(sample.path / 'dist' / name).as_posix()})" in (
        failed.stdout
    )

    # The tests that the wheel can run import it, not the tree beside them.
    passed = sample.nox("-s", "tests-3.11", "--", "--wheel", "dist/", "tests/test_where.py")
    assert passed.returncode == 0, passed.stdout
    assert "--import-mode=append" in passed.stdout
    # Coverage measures the wheel's code where it ran (site-packages), not the tree's copy.
    assert "coverage: measures the wheel's sample" in passed.stdout
    # ...reported as the tree's file, so jobs on other Pythons and OSes combine.
    assert "\nsample/__init__.py " in passed.stdout
    assert "site-packages/sample" not in passed.stdout.split("coverage: measures")[1]
    assert "coverage total: 50 %" in passed.stdout  # add() is defined, never called
    # The tree is last on the venv's sys.path while a wheel is tested, and only then.
    (pth,) = (sample.path / ".nox").glob(f"*/lib/*/site-packages/{wheel.TREE_PTH}")
    assert pth.read_text().strip() == str(sample.path)
    tree_again = sample.nox("-s", "tests-3.11", "--", "tests/test_sample.py")
    assert tree_again.returncode == 0, tree_again.stdout
    assert not pth.exists()

    ci = workflows.render_ci(workflows.WorkflowSpec.from_config(load_config(sample.path)))
    path = sample.path / ".github/workflows/ci.yml"
    path.parent.mkdir(parents=True)
    path.write_text(ci)
    assert "-- --wheel dist/" in ci
    zizmor = subprocess.run(
        [Path(sys.executable).parent / "zizmor", "--offline", "--format", "plain", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert zizmor.returncode == 0, zizmor.stdout + zizmor.stderr
    linted = actionlint.lint(sample.path, 1)
    assert linted.returncode == 0, linted.stdout + linted.stderr
