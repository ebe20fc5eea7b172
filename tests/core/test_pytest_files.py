"""The project's pytest configuration file is the one pytest itself takes, in its order."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from ci_tasks.core import pytest_files
from ci_tasks.stages.testing import pytest_config

# Each layout: its files, and the file pytest 9 takes (None: none of them).
LAYOUTS = [
    ({"pytest.toml": "[pytest]\naddopts = ['-ra']\n", "pytest.ini": "[pytest]\n"}, "pytest.toml"),
    ({".pytest.toml": "", "pytest.ini": "[pytest]\naddopts = -ra\n"}, ".pytest.toml"),
    ({"pytest.toml": "", ".pytest.toml": "[pytest]\n"}, "pytest.toml"),
    ({".pytest.ini": "[pytest]\n", "pyproject.toml": "[tool.pytest.ini_options]\n"}, ".pytest.ini"),
    ({"pytest.ini": "", "tox.ini": "[pytest]\naddopts = -ra\n"}, "pytest.ini"),
    ({"pyproject.toml": "[tool.pytest.ini_options]\n", "tox.ini": "[pytest]\n"}, "pyproject.toml"),
    ({"pyproject.toml": "[tool.pytest]\naddopts = ['-ra']\n", "setup.cfg": "[tool:pytest]\n"},
     "pyproject.toml"),
    ({"pyproject.toml": "[tool.black]\n", "tox.ini": "[pytest]\n"}, "tox.ini"),
    ({"pyproject.toml": "[tool.pytest]\n", "setup.cfg": "[tool:pytest]\n"}, "setup.cfg"),
    ({"tox.ini": "[tox]\n", "setup.cfg": "[tool:pytest]\naddopts = -ra\n"}, "setup.cfg"),
    ({"tox.ini": "[tox]\n", "setup.cfg": "[metadata]\n"}, None),
]  # fmt: skip


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (root / name).write_text(text, encoding="utf-8")


def _pytest_takes(root: Path) -> str | None:
    """The configuration file the installed pytest reports taking in *root*."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--co", "-p", "no:cacheprovider"],
        cwd=root, capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    assert done.returncode == 5, done.stdout + done.stderr  # 5: no tests, nothing wrong
    found = re.search(r"configfile: (\S+)", done.stdout)
    return found[1] if found else None


@pytest.mark.parametrize(("files", "taken"), LAYOUTS)
def test_the_file_found_is_the_file_pytest_takes(tmp_path, files, taken):
    """Each layout's file is the one the installed pytest reports taking (pytest 9's order)."""
    _write(tmp_path, files)
    found = pytest_files.find(tmp_path)
    assert (found.file if found else None) == taken
    assert _pytest_takes(tmp_path) == (taken or _pytest_takes_without_config(files))


def _pytest_takes_without_config(files: dict[str, str]) -> str | None:
    # Where no file holds pytest's configuration, pytest still names pyproject.toml (as
    # its rootdir's file, with no options); none of these layouts without one has it.
    return "pyproject.toml" if "pyproject.toml" in files else None


def test_addopts_of_a_pytest_toml_are_read_first(tmp_path, monkeypatch):
    """A pytest.toml's [pytest] addopts are read, not an older pytest.ini's beside it."""
    monkeypatch.delenv("PYTEST_ADDOPTS", raising=False)
    _write(
        tmp_path,
        {
            "pytest.toml": '[pytest]\naddopts = ["--strict-markers", "-n", "4"]\n',
            "pytest.ini": "[pytest]\naddopts = --cov\n",
        },
    )
    assert pytest_files.addopts(tmp_path) == ["--strict-markers", "-n", "4"]
    assert pytest_config.xdist_in_addopts(tmp_path) == "-n 4"
    assert not pytest_config.cov_in_addopts(tmp_path)
    decision = pytest_config.strictness(tmp_path, setting="auto")
    assert decision.reason == "--strict-markers (pytest.toml addopts)"


def test_an_empty_pytest_toml_is_still_pytests_file(tmp_path, monkeypatch):
    """An empty pytest.toml is pytest's file: pyproject's options are not read."""
    monkeypatch.delenv("PYTEST_ADDOPTS", raising=False)
    _write(tmp_path, {"pytest.toml": "", "pyproject.toml": "[tool.pytest]\naddopts = ['--cov']\n"})
    assert pytest_files.find(tmp_path) == pytest_files.PytestIni("pytest.toml", "[pytest]", {})
    assert pytest_files.addopts(tmp_path) == []


@pytest.mark.parametrize(
    ("files", "said", "taken"),
    [
        (
            {"pytest.toml": "[pytest\n", "pytest.ini": "[pytest]\n"},
            "pytest.toml: not valid TOML",
            "pytest.ini",
        ),
        ({"pytest.ini": "[pytest\n", "tox.ini": "[pytest]\n"}, "pytest.ini: not readable",
         "tox.ini"),
        (
            {"pyproject.toml": "[tool.pytest]\naddopts = []\n[tool.pytest.ini_options]\n"},
            "pyproject.toml: both [tool.pytest] and [tool.pytest.ini_options]",
            "pyproject.toml",
        ),
        ({"setup.cfg": "[pytest]\naddopts = -q\n"}, "setup.cfg: a [pytest] section", None),
    ],
)  # fmt: skip
def test_a_file_pytest_would_refuse_is_said_not_fatal(tmp_path, files, said, taken):
    """Not TOML, not INI, both pyproject forms, setup.cfg's [pytest]: said, and reading goes on."""
    _write(tmp_path, files)
    skipped: list[str] = []
    found = pytest_files.find(tmp_path, skipped)
    assert (found.file if found else None) == taken
    assert [s for s in skipped if s.startswith(said)], skipped
    assert pytest_config.strictness(tmp_path, setting="auto").flags == ()


def test_a_file_not_utf8_is_said_not_fatal(tmp_path):
    """A pytest.ini that is not UTF-8 is said; the next file is read."""
    (tmp_path / "pytest.ini").write_bytes(b"[pytest]\naddopts = \xff\n")
    (tmp_path / "setup.cfg").write_text("[tool:pytest]\naddopts = -q\n")
    skipped: list[str] = []
    found = pytest_files.find(tmp_path, skipped)
    assert found is not None
    assert found.file == "setup.cfg"
    assert skipped == ["pytest.ini: not readable as INI"]
