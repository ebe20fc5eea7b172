"""Gathering a CI run's reports from its artifacts, with GitHub's answers held in memory.

The downloads themselves (redirects to storage, no credentials there, caps while
streaming) are tested against real local servers in test_readiness_ci_evidence.py.
"""

from __future__ import annotations

import json

from ci_tasks.core import artifacts
from tests.support.github_fake import zip_archive
from tests.support.github_memory import MemoryGitHub

MB = 1_000_000
REPORT = json.dumps({"schema": "ci-tasks/lint", "version": 1})


def _gather(github: MemoryGitHub, root, **kwargs):
    options = {
        "run_id": 1000,
        "label": "CI run #1234",
        "head_sha": "a" * 40,
        "allowed": {"lint-report.json"},
        "max_bytes": MB,
    } | kwargs
    return artifacts.gather(github, root, **options)


def test_only_our_artifacts_are_downloaded_and_only_wanted_reports_kept(tmp_path):
    """Another tool's artifact is not fetched; junit.xml in ours is safe and not used."""
    github = MemoryGitHub()
    ours = github.upload(1000, "ci-tasks-lint-ubuntu", zip_archive({"lint-report.json": REPORT}))
    github.upload(1000, "coverage-html", zip_archive({"index.html": "<html>"}))
    github.upload(1000, "ci-tasks-tests-ubuntu", zip_archive({"junit.xml": "<testsuites/>"}))
    got = _gather(github, tmp_path)
    assert [(f.artifact, f.name) for f in got.files] == [
        ("ci-tasks-lint-ubuntu", "lint-report.json")
    ]
    assert got.files[0].data == REPORT.encode()
    assert ours in got.artifacts
    assert not any("coverage-html" in a for a in github.asked)
    assert got.refused == ()
    assert not (tmp_path / ".ci-tasks").exists()


def test_readiness_never_downloads_the_durations_only_artifacts(tmp_path):
    """`durations-*` are the tests jobs' split input: gathered only where they are wanted."""
    github = MemoryGitHub()
    github.upload(1000, "ci-tasks-lint-ubuntu", zip_archive({"lint-report.json": REPORT}))
    github.upload(1000, "durations-tests-3.11-ubuntu", zip_archive({"test-durations.json": "{}"}))
    _gather(github, tmp_path)
    assert not any("durations-tests" in a for a in github.asked)
    wanted = _gather(
        github,
        tmp_path,
        allowed={"test-durations.json"},
        wanted=lambda name: artifacts.is_ours(name) or artifacts.is_durations(name),
    )
    assert [(f.artifact, f.name) for f in wanted.files] == [
        ("durations-tests-3.11-ubuntu", "test-durations.json")
    ]


def test_expired_oversized_and_gone_artifacts_are_named_not_used(tmp_path):
    """Expired: not downloaded; over the cap: refused before download; gone since listed."""
    github = MemoryGitHub()
    github.upload(1000, "ci-tasks-a", zip_archive({"lint-report.json": REPORT}), expired=True)
    github.upload(1000, "ci-tasks-b", b"x" * (2 * MB))
    gone = github.upload(1000, "ci-tasks-c", zip_archive({"lint-report.json": REPORT}))
    del github.archives[github.artifacts[1000][-1].download_url]
    got = _gather(github, tmp_path)
    assert got.files == ()
    assert got.refused == (
        "ci-tasks-a: expired",
        "ci-tasks-b: refused, the archive is 2.0 MB, over the 1 MB cap",
        "ci-tasks-c: expired or deleted",
    )
    assert [a for a in github.asked if a.startswith("download")] == [
        f"download memory://octo/app/artifacts/{gone}/zip"
    ]


def test_a_stored_copy_of_the_same_artifacts_is_not_downloaded_again(tmp_path):
    """Saved once, the next gather of the same run reads it back and downloads nothing."""
    github = MemoryGitHub()
    github.upload(1000, "ci-tasks-lint-ubuntu", zip_archive({"lint-report.json": REPORT}))
    first = _gather(github, tmp_path)
    artifacts.save(tmp_path, first)
    github.asked.clear()
    again = _gather(github, tmp_path)
    assert again.stored
    assert again.files == first.files
    assert github.asked == ["run_artifacts 1000"]
