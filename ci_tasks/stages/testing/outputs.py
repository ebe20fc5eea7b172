"""Where one tests session writes: JUnit XML, coverage, its report, history and durations."""

from __future__ import annotations

import dataclasses

from ci_tasks.core import reports
from ci_tasks.stages.testing import durations, flaky
from ci_tasks.stages.testing.config import TestsConfig

SESSION_PLACEHOLDER = "{session}"


@dataclasses.dataclass(frozen=True)
class Outputs:
    """Where one tests session writes, all relative to the project (under ``.ci-tasks/``)."""

    session: str
    """The nox session (``tests-3.11``); ``tests`` when run in-process (preflight)."""
    junit_xml: str
    coverage_xml: str

    @property
    def folder(self) -> str:
        """The session's own folder: its report, history and coverage data."""
        return f"{reports.REPORT_DIR}/{self.session}"

    @property
    def coverage_data(self) -> str:
        """Coverage's data file: the session's parts combined."""
        return f"{self.folder}/.coverage"

    def junit_part(self, index: int) -> str:
        """Where pytest process *index* (from 1) writes its JUnit XML, merged after the run."""
        stem, dot, suffix = self.junit_xml.rpartition(".")
        return f"{stem}.part{index}.{suffix}" if dot else f"{self.junit_xml}.part{index}"

    def coverage_part(self, index: int) -> str:
        """``COVERAGE_FILE`` of pytest process *index* (from 1), combined after the run."""
        return f"{self.coverage_data}.part{index}"

    @property
    def durations(self) -> str:
        """A shard's own recorded durations, which the next CI run's shards split by."""
        return f"{self.folder}/{durations.FILE}"

    @property
    def report(self) -> str:
        """The flaky report (``flaky-report.json``): results, flaky, quarantined, slow."""
        return f"{self.folder}/flaky-report.json"

    @property
    def history(self) -> str:
        """This session's flaky history; readiness merges every session's."""
        return f"{self.folder}/{flaky.HISTORY_FILE}"

    @classmethod
    def of(cls, config: TestsConfig, session: str) -> Outputs:
        """The paths for *session*, ``{session}`` in the configured paths filled in."""
        return cls(
            session,
            config.junit_xml.replace(SESSION_PLACEHOLDER, session),
            config.coverage_xml.replace(SESSION_PLACEHOLDER, session),
        )
