"""Readiness judging the reports CI uploaded: runs -> artifacts -> storage, on 127.0.0.1."""

from __future__ import annotations

import datetime as dt
import json
import stat
import time
import zipfile
from pathlib import Path

import pytest
import requests
from test_readiness_session import WORKFLOW, git, stage

from ci_tasks.core import http, reports
from ci_tasks.core.artifacts import ArchiveRefused, check_archive
from ci_tasks.core.errors import ServiceUnavailable
from ci_tasks.core.retry import RetryPolicy
from ci_tasks.stages.readiness.evidence import (
    EVIDENCE_FILES,
    SESSION_FILES,
    Evidence,
    Report,
    Run,
    choose,
    wants_ci_copy,
)
from ci_tasks.stages.readiness.github import ActionsClient, api_session
from tests.support.github_fake import (
    REPO,
    FakeGitHub,
    FakeStorage,
    make_runs,
    other_host,
    zip_archive,
)
from tests.support.localserver import Request, Response, serve
from tests.support.sample import make_project

TOKEN = "ghp_readinessTokenNeverForStorage42"
MB = 1_000_000


def envelope(kind: str, commit: str, **body: object) -> str:
    """A report as the ``<kind>`` session writes it, made now for *commit*."""
    payload = {
        "schema": f"ci-tasks/{kind}-report",
        "version": 1,
        "commit": commit,
        "generated_at": reports.now_iso(),
        "verdict": "passed",
        **body,
    }
    return json.dumps(payload)


def ci_archives(commit: str, *, tests_folder: str = "") -> dict[str, bytes]:
    """The artifacts a green CI run of *commit* uploads, one per session.

    *tests_folder* (``tests-3.11/``) puts the tests session's files in its own folder.
    """
    history = {
        "schema": "ci-tasks/flaky-history",
        "version": 1,
        "runs": [{"commit": commit, "date": reports.now_iso(), "tests": 200, "rescued": 1}],
    }
    return {
        "ci-tasks-lint": zip_archive(
            {"lint-report.json": envelope("lint", commit, lock_current=True, findings=[])}
        ),
        "ci-tasks-security": zip_archive(
            {"security-report.json": envelope("security", commit, findings=[], skipped=0)}
        ),
        "ci-tasks-build": zip_archive({"build-report.json": envelope("build", commit)}),
        "ci-tasks-tests-3.11": zip_archive(
            {
                f"{tests_folder}flaky-history.json": json.dumps(history),
                f"{tests_folder}junit.xml": "<testsuites/>",
            }
        ),
    }


@pytest.fixture
def checkout(tmp_path):
    """A fresh checkout, as the scheduled workflow has: committed code, no .ci-tasks/."""
    proj = make_project(
        tmp_path,
        lock=False,
        extra=(
            f"[tool.ci-tasks.readiness]\nrepository = '{REPO}'\nmax-artifact-mb = 1\n"
            "[tool.ci-tasks.retry]\nattempts = 2\ninitial_delay = 0\njitter = 0\n"
        ),
        files={".github/workflows/ci.yml": WORKFLOW, ".gitignore": ".ci-tasks/\n"},
    )
    git(proj.path, "init", "-q", "-b", "main")
    git(proj.path, "add", "-A")
    git(proj.path, "commit", "-q", "-m", "init")
    return proj


def head(root: Path) -> str:
    return reports.current_commit(root) or ""


class CI:
    """The fake API and its storage, both running; the newest run built *commit*."""

    def __init__(self, api, blob, fake: FakeGitHub, storage: FakeStorage) -> None:
        self.api, self.blob, self.fake, self.storage = api, blob, fake, storage

    def env(self) -> dict[str, str]:
        return {"GITHUB_API_URL": self.api.url, "GITHUB_TOKEN": TOKEN}

    def upload(self, archives: dict[str, bytes]) -> None:
        for name, data in archives.items():
            self.fake.upload(self.fake.runs[0], name, data, self.storage)


@pytest.fixture
def ci(checkout):
    fake, storage = FakeGitHub(runs=make_runs(["success"] * 10)), FakeStorage()
    fake.runs[0]["head_sha"] = head(checkout.path)
    with serve(fake) as api, serve(storage) as blob:
        fake.base = api.url
        fake.storage = other_host(blob.url)
        yield CI(api, blob, fake, storage)


def files_outside_ci_tasks(root: Path) -> set[str]:
    return {
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if ".git" not in p.relative_to(root).parts[:1]
        and reports.REPORT_DIR not in p.relative_to(root).parts[:1]
    }


@pytest.mark.parametrize("folder", ["", "tests-3.11/"])
def test_artifacts_of_heads_run_make_every_check_known_and_pass(checkout, ci, folder):
    """A fresh checkout judges HEAD's CI run: all known, gate passes, provenance shown."""
    ci.upload(ci_archives(head(checkout.path), tests_folder=folder))
    code, out = stage(checkout.path, "--check-only", "--verbose", env=ci.env())
    assert code == 0, out
    assert " unknown " not in out
    assert "source: ci-tasks-build/build-report.json (CI run #1234)" in out
    assert f"source: ci-tasks-tests-3.11/{folder}flaky-history.json (CI run #1234)" in out
    assert "readiness 100.0 %: passes" in out
    assert not (checkout.path / reports.REPORT_DIR).exists()  # --check-only writes nothing

    code, out = stage(checkout.path, env=ci.env())
    assert code == 0, out
    checklist = (checkout.path / "RELEASE_CHECKLIST.md").read_text()
    assert "  - source: ci-tasks-security/security-report.json (CI run #1234)" in checklist
    kept = checkout.path / ".ci-tasks/ci-run"
    assert (kept / "ci-tasks-lint/lint-report.json").is_file()
    assert not list(kept.rglob("junit.xml"))  # only the reports readiness reads

    ci.api.requests.clear()
    ci.blob.requests.clear()
    code, out = stage(checkout.path, env=ci.env())
    assert code == 0, out
    assert ci.blob.requests == []  # the kept copy answers; nothing downloaded again
    assert all("If-None-Match" in r.headers for r in ci.api.requests)
    assert "answered from cache (304)" in out


def test_a_code_commit_after_the_run_makes_its_evidence_stale(checkout, ci):
    """HEAD moved on after CI ran: the run's reports are stale and the gate fails."""
    built = head(checkout.path)
    ci.upload(ci_archives(built))
    checkout.write("sample/__init__.py", "def add(a, b):\n    return b + a\n")
    git(checkout.path, "commit", "-qam", "change the code")
    code, out = stage(checkout.path, "--check-only", env=ci.env())
    assert code == 1, out
    assert (
        f"stale: ci-tasks-build/build-report.json (CI run #1234) is from {built[:12]}, "
        f"HEAD is {head(checkout.path)[:12]}"
    ) in out
    assert "below the 90 % threshold" in out


def test_a_report_from_another_commit_than_the_run_built_is_not_used(checkout, ci):
    """A report inside HEAD's run that names another commit is distrusted, not believed."""
    archives = ci_archives(head(checkout.path))
    archives["ci-tasks-build"] = zip_archive({"build-report.json": envelope("build", "f" * 40)})
    ci.upload(archives)
    code, out = stage(checkout.path, "--check-only", env=ci.env())
    assert code == 1, out
    assert (
        "ci-tasks-build/build-report.json (CI run #1234) is from ffffffffffff, but the run built"
        in out
    )


@pytest.mark.parametrize(
    ("members", "reason"),
    [
        ({"../../../escaped.json": "{}"}, "points outside .ci-tasks/"),
        ({".ci-tasks/../../escaped.json": "{}"}, "points outside .ci-tasks/"),
        ({"/escaped.json": "{}"}, "is not a relative path"),
        ({"..\\escaped.json": "{}"}, "is not a relative path"),
        ({"build-report.json": "x" * (2 * MB)}, "unpacks to 2.0 MB, over the 1 MB cap"),
    ],
)
def test_a_hostile_archive_is_refused_and_nothing_escapes(checkout, ci, members, reason):
    """Traversal, absolute paths and bombs: one-line refusal, nothing written outside."""
    archives = ci_archives(head(checkout.path))
    archives["ci-tasks-build"] = zip_archive(members)
    ci.upload(archives)
    before = files_outside_ci_tasks(checkout.path)
    code, out = stage(checkout.path, env=ci.env())
    assert code == 0, out  # a default run reports; only --check-only gates
    refusals = [line for line in out.splitlines() if "refused" in line]
    assert len(refusals) == 1
    assert "CI run #1234: artifact ci-tasks-build: refused, " in refusals[0]
    assert reason in refusals[0]
    written = files_outside_ci_tasks(checkout.path) - before
    assert written <= {
        "RELEASE_CHECKLIST.md",
        "readiness-badge.svg",
        ".release-readiness-cache.json",
    }
    assert not list(checkout.path.parent.rglob("escaped.json"))
    assert not Path("/escaped.json").exists()
    assert not (checkout.path / ".ci-tasks/ci-run/ci-tasks-build").exists()
    assert (
        "no evidence: .ci-tasks/build-report.json does not exist, nor in CI run #1234's artifacts"
    ) in out


def test_an_oversized_download_is_refused_before_it_is_read(checkout, ci):
    """An archive over the cap is refused from its listed size: storage is never asked."""
    archives = ci_archives(head(checkout.path))
    archives["ci-tasks-build"] = zip_archive({"build-report.json": "x"}) + b"\0" * (2 * MB)
    ci.upload(archives)
    code, out = stage(checkout.path, "--check-only", env=ci.env())
    assert code == 1, out
    assert "artifact ci-tasks-build: refused, the archive is 2.0 MB, over the 1 MB cap" in out
    assert len(ci.blob.requests) == 3  # lint, security, tests; not build


def test_storage_requests_carry_no_token(checkout, ci):
    """The token goes to the API only; storage, on another host, never sees it."""
    ci.upload(ci_archives(head(checkout.path)))
    code, out = stage(checkout.path, "--check-only", env=ci.env())
    assert code == 0, out
    assert ci.blob.requests
    for request in ci.blob.requests:
        assert "Authorization" not in request.headers
        assert TOKEN not in json.dumps(request.headers)
    zips = [r for r in ci.api.requests if r.path.endswith("/zip")]
    assert zips
    assert all(r.headers.get("Authorization") == f"Bearer {TOKEN}" for r in zips)
    assert "storage-signature-42" not in out


def client(api_url: str, **kwargs: object) -> ActionsClient:
    return ActionsClient(
        repository=REPO,
        http=api_session(RetryPolicy(attempts=3, initial_delay=0, jitter=0)),
        base_url=api_url,
        token=TOKEN,
        timeout=5.0,
        deadline=time.monotonic() + 60,
        **kwargs,  # type: ignore[arg-type]
    )


def test_a_same_host_redirect_gets_no_token_either():
    """Following a same-host redirect, requests keeps Authorization; the client sends none."""
    fake, storage = FakeGitHub(runs=make_runs(["success"])), FakeStorage()

    def both(request: Request) -> Response:
        return (storage if request.path.startswith("/blob/") else fake)(request)

    with serve(both) as server:
        fake.base = fake.storage = server.url
        artifact = fake.upload(fake.runs[0], "ci-tasks-lint", zip_archive({"a": "b"}), storage)
        url = f"{server.url}/repos/{REPO}/actions/artifacts/{artifact}/zip"
        plain = requests.get(url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5)
        assert plain.ok
        assert server.requests[-1].headers.get("Authorization")  # what requests alone does
        assert client(server.url).download(url, MB) == storage.archives[artifact]
        assert "Authorization" not in server.requests[-1].headers


def test_rate_limit_on_the_download_and_a_storage_5xx_are_retried():
    """The zip endpoint's 429 is waited out; a 503 from storage is retried by urllib3."""
    fake = FakeGitHub(runs=make_runs(["success"]))
    storage = FakeStorage()
    blob_faults = [Response(503, "busy")]

    def flaky_storage(request: Request) -> Response:
        return blob_faults.pop(0) if blob_faults else storage(request)

    with serve(fake) as api, serve(flaky_storage) as blob:
        fake.base, fake.storage = api.url, other_host(blob.url)
        artifact = fake.upload(fake.runs[0], "ci-tasks-lint", zip_archive({"a": "b"}), storage)
        fake.faults.append(Response(429, "slow down", {"Retry-After": "1"}))
        url = f"{api.url}/repos/{REPO}/actions/artifacts/{artifact}/zip"
        assert client(api.url).download(url, MB) == storage.archives[artifact]
        assert len(api.requests) == 2
        assert len(blob.requests) == 2


def test_storage_refusal_names_the_host_not_the_signed_url():
    """A 403 from storage is a one-line error without the signature in the URL's query."""
    fake = FakeGitHub(runs=make_runs(["success"]))
    with serve(fake) as api, serve(lambda _r: Response(403, "AuthenticationFailed")) as blob:
        fake.base, fake.storage = api.url, other_host(blob.url)
        artifact = fake.upload(fake.runs[0], "ci-tasks-lint", b"zip", FakeStorage())
        url = f"{api.url}/repos/{REPO}/actions/artifacts/{artifact}/zip"
        with pytest.raises(ServiceUnavailable) as info:
            client(api.url).download(url, MB)
    assert str(info.value) == "artifact storage localhost: answered HTTP 403 (after retries)"


def _symlink_archive() -> bytes:
    import io  # noqa: PLC0415

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        link = zipfile.ZipInfo("build-report.json")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(link, "/etc/passwd")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (_symlink_archive(), "is a link or a device"),
        (zip_archive({"a/../../b": "x"}), "points outside .ci-tasks/"),
        (zip_archive({"C:/x.json": "x"}), "is not a relative path"),
        (b"PK\x03\x04 not really", "not a readable zip archive"),
        (zip_archive({"build-report.json": b"\0" * (5 * MB)}), "unpacks to 5.0 MB"),
    ],
)
def test_check_archive_refuses_hostile_shapes(data, reason):
    """Links, escapes, drives, garbage and bombs are refused whole, in one line."""
    with pytest.raises(ArchiveRefused, match=reason) as info:
        check_archive(data, allowed=EVIDENCE_FILES, max_bytes=MB)
    assert "\n" not in str(info.value)


def test_check_archive_keeps_only_the_reports_readiness_reads():
    """Known names at the top (.ci-tasks/ or not) and in a session folder are kept, no more."""
    data = zip_archive(
        {
            "lint-report.json": "{}",
            ".ci-tasks/build-report.json": "[]",
            "tests-3.12/flaky-history.json": "{}",
            "junit.xml": "<x/>",
            "tests-3.12/coverage.xml": "<x/>",
            "sub/security-report.json": "{}",
            "a/b/flaky-history.json": "{}",
            "preflight-cache.json": "{}",
        }
    )
    got = check_archive(data, allowed=EVIDENCE_FILES, in_folders=SESSION_FILES, max_bytes=MB)
    assert got == {
        "lint-report.json": b"{}",
        "build-report.json": b"[]",
        "tests-3.12/flaky-history.json": b"{}",
    }


def test_duplicate_members_are_refused():
    """Two members with one name: which one would be believed is ambiguous, so neither is."""
    import io  # noqa: PLC0415

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("build-report.json", "{}")
        archive.writestr(".ci-tasks/build-report.json", "{}")
    with pytest.raises(ArchiveRefused, match="appears twice"):
        check_archive(buffer.getvalue(), allowed=EVIDENCE_FILES, max_bytes=MB)


def _report(origin: str, made: str | None, problem: str | None = None) -> Report:
    data = None if made is None else {"generated_at": made, "verdict": "passed"}
    return Report("build", f"{origin}/build-report.json", data, problem, origin)


@pytest.mark.parametrize(
    ("local", "other", "picked"),
    [
        (_report("local", "2026-11-02T00:00:00Z"), None, "local"),
        (
            _report("local", None, "missing"),
            _report("CI run #2", "2026-11-01T00:00:00Z"),
            "CI run #2",
        ),
        (
            _report("local", "2026-11-01T00:00:00Z"),
            _report("CI run #2", "2026-11-02T00:00:00Z"),
            "CI run #2",
        ),
        (
            _report("local", "2026-11-03T00:00:00Z"),
            _report("CI run #2", "2026-11-02T00:00:00Z"),
            "local",
        ),
        (
            _report("local", "2026-11-01T00:00:00Z"),
            _report("CI run #2", "2026-11-02T00:00:00Z", "stale"),
            "local",
        ),
        (
            _report("local", "2026-11-03T00:00:00Z", "stale"),
            _report("CI run #2", "2026-11-02T00:00:00Z"),
            "CI run #2",
        ),
    ],
)
def test_choose_prefers_usable_then_newer(local, other, picked):
    """A usable report beats an unusable one; between equals, the newer one is judged."""
    assert choose(local, other).origin == picked


def test_a_ci_copy_is_wanted_only_when_ours_is_missing_unusable_or_older():
    """Fresh local reports newer than the run need no download; one older report does."""
    run = Run(1, "success", 1, None, dt.datetime(2026, 11, 2, tzinfo=dt.UTC))
    newer = {k: _report("local", "2026-11-03T00:00:00Z") for k in ("security", "build", "lint")}
    history = Report("flaky-history", "h", {"runs": [{"date": "2026-11-03T00:00:00Z"}]})

    def evidence(**changed: Report) -> Evidence:
        found = newer | {"smoke": _report("local", None, "missing")} | changed
        return Evidence(None, found, history, (), None, staging_configured=False)

    assert not wants_ci_copy(evidence(), run)  # no staging URL: smoke is not CI's to upload
    assert wants_ci_copy(evidence(lint=_report("local", "2026-11-01T00:00:00Z")), run)
    assert wants_ci_copy(evidence(build=_report("local", None, "missing")), run)


def test_the_signed_storage_url_stays_out_of_the_logs(out):
    """A storage reset is retried; urllib3's warning about it shows no signature."""
    fake, storage = FakeGitHub(runs=make_runs(["success"])), FakeStorage()
    resets = [Response(reset=True)]

    def flaky_storage(request: Request) -> Response:
        return resets.pop(0) if resets else storage(request)

    http.route_client_logs(output=out)  # as a session does: client logs go to its output
    with serve(fake) as api, serve(flaky_storage) as blob:
        fake.base, fake.storage = api.url, other_host(blob.url)
        artifact = fake.upload(fake.runs[0], "ci-tasks-lint", zip_archive({"a": "b"}), storage)
        url = f"{api.url}/repos/{REPO}/actions/artifacts/{artifact}/zip"
        assert client(api.url).download(url, MB) == storage.archives[artifact]
    http.route_client_logs()
    shown = out.text
    assert "Retrying" in shown
    assert "storage-signature-42" not in shown


def test_the_histories_of_several_tests_sessions_are_judged_together(checkout, ci):
    """tests-3.11 and tests-3.12 each upload a flaky history: both runs count."""
    commit = head(checkout.path)
    archives = ci_archives(commit)
    other = {
        "schema": "ci-tasks/flaky-history",
        "version": 1,
        "runs": [{"commit": commit, "date": reports.now_iso(), "tests": 200, "rescued": 19}],
    }
    archives["ci-tasks-tests-3.12"] = zip_archive({"flaky-history.json": json.dumps(other)})
    ci.upload(archives)
    code, out = stage(checkout.path, "--check-only", "--verbose", env=ci.env())
    assert code == 1, out  # 20 of 400 rescued: 5 %, not below the 5 % target
    assert "20/400 test executions rescued by reruns over 2 runs" in out


def test_an_expired_artifact_is_named_and_not_downloaded(checkout, ci):
    """Past its retention an artifact is listed as expired: a warning, its checks unknown."""
    ci.upload(ci_archives(head(checkout.path)))
    build = next(a for a in ci.fake.artifacts[1000] if a["name"] == "ci-tasks-build")
    build["expired"] = True
    code, out = stage(checkout.path, "--check-only", env=ci.env())
    assert code == 1, out
    assert "warning: CI run #1234: artifact ci-tasks-build: expired" in out
    assert not [r for r in ci.api.requests if r.path.endswith(f"/{build['id']}/zip")]
