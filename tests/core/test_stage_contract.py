"""A stage's StageSpec is its contract: what others may read of it comes from there."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

import ci_tasks  # noqa: F401 - the registry hands every stage's spec to the shared layer
from ci_tasks.core import stage
from ci_tasks.core.config import Config
from ci_tasks.core.errors import UsageError
from ci_tasks.stages.smoke.config import SmokeConfig
from ci_tasks.stages.testing.config import TestsConfig
from ci_tasks.stages.testing.flaky import HISTORY_SCHEMA, HISTORY_VERSION


def test_a_declared_document_gives_its_schema_and_version() -> None:
    """Readiness reads the flaky history's schema from the tests stage's declaration."""
    history = stage.document("tests", "flaky-history")
    assert (history.schema, history.version) == (HISTORY_SCHEMA, HISTORY_VERSION)
    with pytest.raises(KeyError, match="stage 'tests' declares no document 'coverage'"):
        stage.document("tests", "coverage")
    with pytest.raises(KeyError, match="no stage 'docs'"):
        stage.document("docs", "flaky-history")


def test_exported_settings_are_read_from_the_owning_section() -> None:
    """Smoke's URL and the tests' shard count, as configured, and nothing undeclared."""
    config = Config().with_section(SmokeConfig(url="https://staging.example"))
    config = config.with_section(TestsConfig(shards=4))
    assert stage.exported(config, "smoke", "url") == "https://staging.example"
    assert stage.exported(config, "tests", "shards") == 4
    with pytest.raises(KeyError, match="stage 'smoke' exports no setting 'health_paths'"):
        stage.exported(config, "smoke", "health_paths")


def test_written_files_follow_the_configured_paths() -> None:
    """The tests stage's JUnit and coverage paths, ``{session}`` as run in-process."""
    config = Config().with_section(TestsConfig(junit_xml="out/{session}.xml"))
    written = stage.written_files(config)
    assert "out/tests.xml" in written
    assert ".ci-tasks/tests/coverage.xml" in written


def test_a_session_that_is_no_stage_must_name_its_budget() -> None:
    """No session takes another stage's timeout silently: it gives seconds or a stage."""

    def docs(ctx: stage.StageContext) -> None:
        """Builds the docs."""

    with pytest.raises(ValueError, match="session 'docs': no stage 'docs' to take a timeout"):
        stage.nox_session(docs, name="docs", config=Config(), venv_backend="none")


def test_a_sessions_flags_give_its_help_and_its_one_line_errors() -> None:
    """One definition of a session's flags: ``--help`` lists them, a bad one is a UsageError."""

    def add(parser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="write nothing")

    flags = stage.Flags("readiness", "The score.", add)
    assert flags.usage().startswith("usage: nox -s readiness -- [-h] [--dry-run]")
    assert "write nothing" in flags.usage()
    assert flags.parse(["--dry-run"]).dry_run is True
    with pytest.raises(UsageError, match=r"^nox -s readiness --: unrecognized arguments: --wet"):
        flags.parse(["--wet"])


def test_a_stage_report_is_written_with_the_version_its_spec_declares(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The report's ``version`` is the spec's ``report_version``, for every report written."""
    bumped = dataclasses.replace(stage._STAGES["build"], report_version=3)
    monkeypatch.setitem(stage._STAGES, "build", bumped)
    path = stage.write_stage_report(tmp_path, "build", verdict="passed", body={})
    data = json.loads(path.read_text())
    assert (path.name, data["schema"], data["version"]) == (
        "build-report.json",
        "ci-tasks/build-report",
        3,
    )
    with pytest.raises(KeyError, match="stage 'preflight' declares no report"):
        stage.write_stage_report(tmp_path, "preflight", verdict="passed", body={})
