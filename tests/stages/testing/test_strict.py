"""``strict = "auto"``: as strict as the project's own pytest, decided from its configuration."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from ci_tasks.adopt.project import render_config_table
from ci_tasks.core.config import Config
from ci_tasks.stages.testing import flaky
from ci_tasks.stages.testing.command import RECORD_ENV
from ci_tasks.stages.testing.config import TestsConfig
from ci_tasks.stages.testing.environment import PLUGIN_DIR
from ci_tasks.stages.testing.pytest_config import PytestIni, decide_strict, pytest_ini, strictness
from tests.support.sample import clean_env

PYPROJECT = PytestIni("pyproject.toml", "[tool.pytest.ini_options]", {})
WHERE = "pyproject.toml addopts"
APPLIES = "in pyproject.toml [tool.pytest.ini_options], which pytest applies itself"
OFF = (
    "off (the project's pytest is not strict: no --strict-markers/--strict-config/--strict "
    "in its addopts, no strict/strict_markers/strict_config = true in pyproject.toml "
    "[tool.pytest.ini_options])"
)


@pytest.mark.parametrize(
    ("setting", "addopts", "options", "flags", "reason"),
    [
        ("auto", [], {}, (), OFF),
        ("auto", ["-ra", "-q"], {}, (), OFF),
        ("auto", ["--strict-markers"], {}, ("--strict-markers",), f"--strict-markers ({WHERE})"),
        (
            "auto",
            ["--strict-config", "-ra", "--strict-markers"],
            {},
            ("--strict-markers", "--strict-config"),
            f"--strict-markers --strict-config ({WHERE})",
        ),
        ("auto", ["--strict"], {}, ("--strict",), f"--strict ({WHERE})"),
        (
            "auto",
            [],
            {"strict": True},
            (),
            f"strict = true {APPLIES}",
        ),
        (
            "auto",
            [],
            {"strict_markers": "true", "strict_config": "false"},
            (),
            f"strict_markers = true {APPLIES}",
        ),
        ("auto", [], {"strict": "false"}, (), OFF),
        (
            True,
            [],
            {},
            ("--strict-markers", "--strict-config"),
            "--strict-markers --strict-config (strict = true)",
        ),
        (False, ["--strict-markers"], {"strict": True}, (), "off (strict = false)"),
    ],
    ids=[
        "none",
        "other-addopts",
        "strict-markers",
        "both",
        "strict",
        "ini-strict",
        "ini-strict-markers",
        "ini-strict-false",
        "forced-true",
        "forced-false",
    ],
)
def test_decide_strict(setting, addopts, options, flags, reason):
    """The flags added are exactly the project's own strict flags; the reason says where from."""
    ini = PytestIni(PYPROJECT.file, PYPROJECT.section, options)
    decision = decide_strict([(WHERE, addopts), ("PYTEST_ADDOPTS", [])], ini, setting=setting)
    assert decision.flags == flags
    assert decision.reason == reason


def test_decide_strict_names_each_source_and_adds_a_flag_once():
    """A flag in both the file's addopts and PYTEST_ADDOPTS is added once, each source named."""
    addopts = [
        ("pytest.ini addopts", ["--strict-markers"]),
        ("PYTEST_ADDOPTS", ["--strict-markers", "--strict-config"]),
    ]
    decision = decide_strict(addopts, None, setting="auto")
    assert decision.flags == ("--strict-markers", "--strict-config")
    assert (
        decision.reason == "--strict-markers (pytest.ini addopts); --strict-config (PYTEST_ADDOPTS)"
    )


def test_decide_strict_without_a_pytest_configuration_file():
    """No configuration file at all: off, and the reason says there is none."""
    decision = decide_strict([("addopts", []), ("PYTEST_ADDOPTS", [])], None, setting="auto")
    assert decision.flags == ()
    assert decision.reason.endswith("in its addopts, no pytest configuration file)")


def test_default_is_auto():
    """``[tool.ci-tasks.tests] strict`` defaults to ``auto``."""
    assert Config().section(TestsConfig).strict == "auto"


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("pyproject.toml", "[tool.pytest.ini_options]\nstrict = true\n", ("strict", True)),
        ("pyproject.toml", "[tool.pytest]\nstrict_markers = true\n", ("strict_markers", True)),
        ("pytest.ini", "[pytest]\nstrict_config = true\n", ("strict_config", "true")),
        ("tox.ini", "[pytest]\nstrict = 1\n", ("strict", "1")),
        ("setup.cfg", "[tool:pytest]\nstrict = yes\n", ("strict", "yes")),
    ],
)
def test_pytest_ini_reads_the_file_pytest_reads(tmp_path, name, text, expected):
    """The first pytest configuration file, in pytest's order, with its section and options."""
    (tmp_path / name).write_text(text, encoding="utf-8")
    ini = pytest_ini(tmp_path)
    assert ini is not None
    assert ini.file == name
    assert ini.section == text.partition("\n")[0]
    key, value = expected
    assert ini.options[key] == value


def test_pytest_ini_skips_a_pyproject_without_a_pytest_table(tmp_path, monkeypatch):
    """A pyproject.toml without ``[tool.pytest]`` is not pytest's file; setup.cfg's section is."""
    monkeypatch.delenv("PYTEST_ADDOPTS", raising=False)
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "p"\n', encoding="utf-8")
    (tmp_path / "setup.cfg").write_text(
        "[tool:pytest]\naddopts = --strict-markers\n", encoding="utf-8"
    )
    ini = pytest_ini(tmp_path)
    assert ini is not None
    assert ini.file == "setup.cfg"
    decision = strictness(tmp_path, setting="auto")
    assert decision.flags == ("--strict-markers",)
    assert decision.reason == "--strict-markers (setup.cfg addopts)"


def test_strictness_reads_pytest_addopts_from_the_environment(tmp_path, monkeypatch):
    """``PYTEST_ADDOPTS`` counts, as pytest reads it, and is named as the source."""
    monkeypatch.setenv("PYTEST_ADDOPTS", "-q --strict-config")
    (tmp_path / "pytest.ini").write_text("[pytest]\naddopts = -ra\n", encoding="utf-8")
    decision = strictness(tmp_path, setting="auto")
    assert decision.flags == ("--strict-config",)
    assert decision.reason == "--strict-config (PYTEST_ADDOPTS)"


UNKNOWN_OPTION = """\
[tool.pytest.ini_options]
asyncio_mode = "auto"
{strict}
"""
MARKED = """\
import pytest


@pytest.mark.undeclared
def test_marked():
    assert True
"""


PLAIN = ("-p", "ci_tasks_recorder", "-p", "no:cacheprovider", "-p", "no:xdist", "-q")


def _recorded_pytest(root, *args):
    """Plain pytest in *root* with the recorder loaded; its exit code and record."""
    record = root / "record.json"
    env = clean_env({"PYTHONPATH": str(PLUGIN_DIR), RECORD_ENV: str(record)})
    env.pop("PYTEST_ADDOPTS", None)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", *PLAIN, *args],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    data = json.loads(record.read_text()) if record.exists() else None
    return done, data


def test_recorder_keeps_unknown_ini_option_and_marker_warnings(tmp_path):
    """Not strict: pytest passes, warning; the record keeps both warnings, each once, located."""
    (tmp_path / "pyproject.toml").write_text(UNKNOWN_OPTION.format(strict=""), encoding="utf-8")
    (tmp_path / "test_marked.py").write_text(MARKED, encoding="utf-8")
    done, data = _recorded_pytest(tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    run = flaky.parse_record(data)
    assert set(run.warnings) == {
        flaky.PytestWarning(
            "PytestUnknownMarkWarning",
            "Unknown pytest.mark.undeclared - is this a typo?  You can register custom marks "
            "to avoid this warning - for details, see "
            "https://docs.pytest.org/en/stable/how-to/mark.html",
            "test_marked.py",
            4,
        ),
        flaky.PytestWarning(
            "PytestConfigWarning", "Unknown config option: asyncio_mode", "pyproject.toml"
        ),
    }
    merged = flaky.merge_runs([run, run])
    assert merged.warnings == run.warnings  # every part warns alike: one warning each


def test_recorder_strict_project_still_fails_on_its_unknown_marker(tmp_path):
    """With the project's own --strict-markers, pytest fails on the marker, recorder or not."""
    strict = 'addopts = "--strict-markers"'
    (tmp_path / "pyproject.toml").write_text(UNKNOWN_OPTION.format(strict=strict), "utf-8")
    (tmp_path / "test_marked.py").write_text(MARKED, encoding="utf-8")
    done, data = _recorded_pytest(tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr  # interrupted: a collection error
    run = flaky.parse_record(data)
    assert [e.nodeid for e in run.collect_errors] == ["test_marked.py"]


def test_init_writes_strict_auto_with_its_comment():
    """`ci-tasks init`'s table shows `strict = "auto"`, its comment saying what auto does."""
    lines = render_config_table().splitlines()
    index = lines.index('strict = "auto"')
    assert lines[index - 4].startswith("# `auto`: as strict as the project's own pytest")
