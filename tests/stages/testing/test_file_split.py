"""A split run's parts by file: each part's pytest is given its files, together the suite once."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from ci_tasks.stages.testing import file_split
from ci_tasks.stages.testing.command import Shard
from ci_tasks.stages.testing.planning import Plan, split_parts

# Four recorded files of uneven weight, and a conftest every part loads.
RECORDED = {
    "tests/test_a.py": 3,
    "tests/test_b.py": 2,
    "tests/sub/test_c.py": 2,
    "tests/sub/test_d.py": 1,
}
SECONDS = {"tests/test_a.py": 4.0, "tests/test_b.py": 3.0, "tests/sub/test_c.py": 2.0}
SECONDS["tests/sub/test_d.py"] = 1.5


def _test_file(count: int) -> str:
    body = "import pytest\n\n\n@pytest.mark.parametrize('n', range({}))\n"
    body += "def test_it(n):\n    pass\n\n\n@pytest.mark.slow\ndef test_slow():\n    pass\n"
    return body.format(count)


def _project(root: Path, *, new: tuple[str, ...] = (), ini: str = "") -> dict[str, float]:
    """Write the project, and the costs recorded for its tests (the *new* files have none)."""
    (root / "pyproject.toml").write_text(
        '[tool.pytest.ini_options]\nmarkers = ["slow"]\n' + ini, encoding="utf-8"
    )
    costs: dict[str, float] = {}
    for path, count in {**RECORDED, **dict.fromkeys(new, 2)}.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(_test_file(count), encoding="utf-8")
        if path in RECORDED:
            for n in range(count):
                costs[f"{path}::test_it[{n}]"] = SECONDS[path] / count
    (root / "tests" / "helpers.py").write_text("X = 1\n", encoding="utf-8")  # not a test file
    (root / "tests" / "conftest.py").write_text("", encoding="utf-8")
    return costs


def _collected(root: Path, args: tuple[str, ...]) -> list[str]:
    """The node ids a real pytest, given *args* in *root*, collects (and keeps)."""
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *args],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode in (0, 5), done.stdout + done.stderr
    return [line for line in done.stdout.splitlines() if "::" in line]


def _split(root: Path, costs: dict[str, float], args: tuple[str, ...], parts: int = 2):
    suite = file_split.suite_of(root, args, costs)
    return file_split.split_by_file(costs, suite, parts)


@pytest.mark.parametrize("args", [("tests",), (), ("tests", "-m", "not slow"), ("-k", "it")])
@pytest.mark.parametrize("new", [(), ("tests/test_new.py", "tests/sub/test_new2.py")])
def test_parts_together_collect_the_suite_each_test_once(tmp_path, args, new):
    """The parts' pytest collect the whole suite (new files included), no test twice."""
    costs = _project(tmp_path, new=new)
    split = _split(tmp_path, costs, args)
    assert split.args, split.reason
    whole = _collected(tmp_path, args)
    assert any("test_new" in n for n in whole) == bool(new)
    parts = [_collected(tmp_path, part) for part in split.args]
    counted = Counter(nodeid for part in parts for nodeid in part)
    assert sorted(counted) == sorted(whole)
    assert set(counted.values()) == {1}
    assert all(parts)


def test_a_part_is_given_only_its_files(tmp_path):
    """Every part but the lightest is given its files and no folder; it collects only them."""
    costs = _project(tmp_path, new=("tests/test_new.py",))
    split = _split(tmp_path, costs, ("tests", "-m", "not slow"))
    assert split.files == (
        ("tests/sub/test_d.py", "tests/test_a.py"),
        ("tests/sub/test_c.py", "tests/test_b.py"),
    )
    assert split.loads == (5.5, 5.0)
    assert split.rest == 1
    assert split.args[0] == ("-m", "not slow", "tests/sub/test_d.py", "tests/test_a.py")
    ran = {n.split("::")[0] for n in _collected(tmp_path, split.args[0])}
    assert ran == {"tests/test_a.py", "tests/sub/test_d.py"}
    # The lightest walks the suite's folder, the other part's files ignored: new files are its.
    assert split.args[1] == (
        "tests",
        "-m",
        "not slow",
        "--ignore=tests/sub/test_d.py",
        "--ignore=tests/test_a.py",
    )
    ran = {n.split("::")[0] for n in _collected(tmp_path, split.args[1])}
    assert ran == {"tests/test_b.py", "tests/sub/test_c.py", "tests/test_new.py"}
    assert split.said() == (
        "split: by file: part 1 2 file(s) ~5.5 s, part 2 2 file(s) ~5.0 s; "
        "files not recorded yet: part 2"
    )


def test_testpaths_ignores_and_python_files_of_the_project_are_kept(tmp_path):
    """Recorded files pytest would not collect now (outside testpaths, ignored) are not run."""
    ini = 'testpaths = ["tests/sub"]\naddopts = ["--ignore=tests/sub/test_d.py"]\n'
    costs = _project(tmp_path, ini=ini)
    costs["elsewhere/test_e.py::test_it"] = 9.0  # recorded by an earlier run of other posargs
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "test_e.py").write_text("def test_it():\n    pass\n")
    split = _split(tmp_path, costs, (), parts=1)
    assert split.files == (("tests/sub/test_c.py",),)
    counted = Counter(n for part in split.args for n in _collected(tmp_path, part))
    assert sorted(counted) == sorted(_collected(tmp_path, ()))
    assert set(counted.values()) == {1}


def test_named_files_need_no_part_for_new_ones(tmp_path):
    """Given only files, each is one part's, and no part walks a folder."""
    costs = _project(tmp_path)
    split = _split(tmp_path, costs, ("tests/test_a.py", "tests/test_b.py", "-x"))
    assert split.rest is None
    assert sorted(split.args) == [("-x", "tests/test_a.py"), ("-x", "tests/test_b.py")]


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (("tests/test_a.py::test_it",), "the arguments name tests (node ids), not files"),
        (("--pyargs", "tests"), "--pyargs in pytest's arguments"),
        (("--rootdir=elsewhere",), "--rootdir in pytest's arguments"),
        (("tests/sub",), "2 recorded test file(s) for 3 parts"),
    ],
)
def test_a_split_by_file_that_cannot_be_trusted_splits_by_test(tmp_path, args, reason):
    """Node ids, --pyargs, a rootdir of their own or too few files: split by test, said."""
    costs = _project(tmp_path)
    split = _split(tmp_path, costs, args, parts=3)
    assert split.args == ()
    assert split.said() == f"split: by test: {reason}"


def test_files_that_do_not_balance_split_by_test(tmp_path):
    """One file holding most of the time would leave a part far over an even split."""
    costs = _project(tmp_path)
    costs["tests/test_a.py::test_it[0]"] = 30.0
    split = _split(tmp_path, costs, ("tests",))
    assert split.args == ()
    assert split.reason.startswith("its files do not balance (~32.7 s in one part, ~19.6 s each")


def test_a_shard_and_a_single_process_are_not_split_by_file(tmp_path):
    """A CI shard's parts split by test; one process is given the suite's own arguments."""
    costs = _project(tmp_path)
    suite = file_split.suite_of(tmp_path, ("tests",), costs)
    sharded = split_parts(Plan(processes=2), costs, suite, Shard(1, 2))
    assert sharded.files.said() == "split: by test: a CI shard splits by test"
    assert split_parts(Plan(), costs, suite, None).files.args == ()
    assert split_parts(Plan(processes=2), costs, suite, None).files.args
