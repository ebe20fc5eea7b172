"""The readiness stage end to end: a real git project, real report files, a local API."""

from __future__ import annotations

import dataclasses
import io
import json
import subprocess
import sys
import textwrap

import pytest

from ci_tasks.core import reports
from ci_tasks.core.actions import Output
from ci_tasks.core.config import ReplacedStage, load_config
from ci_tasks.core.runner import Runner
from ci_tasks.core.stage import StageContext, run_stage, write_stage_report
from ci_tasks.stages.readiness import readiness
from ci_tasks.stages.readiness.cache import CACHE_FILE
from tests.support.github_fake import REPO, FakeGitHub, make_runs
from tests.support.leaks import leaks
from tests.support.localserver import Response, serve
from tests.support.sample import clean_env, make_project

FAST_RETRIES = "[tool.ci-tasks.retry]\nattempts = 2\ninitial_delay = 0\njitter = 0\n"
WORKFLOW = """\
name: CI
on: push
permissions: {}
concurrency: {group: ci, cancel-in-progress: true}
jobs:
  test:
    runs-on: ubuntu-latest
    timeout-minutes: 20
    steps: [{run: "true"}]
"""


def git(root, *args):
    subprocess.run(
        ["git", *args],
        cwd=root,
        check=True,
        capture_output=True,
        env=clean_env(
            {
                "GIT_AUTHOR_NAME": "t",
                "GIT_AUTHOR_EMAIL": "t@example.com",
                "GIT_COMMITTER_NAME": "t",
                "GIT_COMMITTER_EMAIL": "t@example.com",
            }
        ),
    )


def project(tmp_path, readiness_toml="", *, good=True):
    """A git project with fresh reports: all passing when *good*."""
    proj = make_project(
        tmp_path,
        lock=False,
        extra=f"[tool.ci-tasks.readiness]\nrepository = '{REPO}'\n{readiness_toml}\n{FAST_RETRIES}",
        files={".github/workflows/ci.yml": WORKFLOW, ".gitignore": ".ci-tasks/\n"},
    )
    git(proj.path, "init", "-q", "-b", "main")
    git(proj.path, "add", "-A")
    git(proj.path, "commit", "-q", "-m", "init")
    root = proj.path
    verdict = "passed" if good else "failed"
    write_stage_report(root, "security", verdict=verdict, body={"findings": [], "skipped": 0})
    write_stage_report(root, "build", verdict=verdict, body={})
    write_stage_report(root, "lint", verdict="passed", body={"lock_current": True, "findings": []})
    reports.write_json(
        root / ".ci-tasks/flaky-history.json",
        {
            "schema": "ci-tasks/flaky-history",
            "version": 1,
            "runs": [
                {
                    "commit": "x",
                    "date": reports.now_iso(),
                    "tests": 100,
                    "rescued": 1,
                    "flaky": ["tests/test_a.py::test_x"],
                }
            ],
        },
    )
    return proj


def stage(root, *posargs, env=None):
    """Run the stage in-process; returns (exit code, output text)."""
    stream = io.StringIO()
    config = load_config(root)
    ctx = StageContext(
        name="readiness",
        config=config,
        runner=Runner(env=clean_env(env), cwd=root),
        posargs=list(posargs),
        output=Output(stream=stream, env={}),
    )
    return run_stage(readiness, ctx), stream.getvalue()


def api_env(server, **extra):
    return {"GITHUB_API_URL": server.url, **extra}


def test_default_run_scores_writes_checklist_and_cache_then_is_byte_stable(tmp_path):
    """First run fetches and writes; the second, unchanged, sends only conditional requests."""
    root = project(tmp_path).path
    fake = FakeGitHub(runs=make_runs(["success"] * 12))
    with serve(fake) as server:
        fake.base = server.url
        code, out = stage(root, env=api_env(server))
        assert code == 0, out
        first = (root / "RELEASE_CHECKLIST.md").read_bytes()
        assert b"**Score: 100.0 %**" in first
        assert b"- [x] **CI pass rate** (pass, weight 3): 10/10 runs succeeded" in first
        assert b"not-applicable" in first  # smoke: no staging URL
        server.requests.clear()
        code, out = stage(root, env=api_env(server))
        assert code == 0, out
        assert (root / "RELEASE_CHECKLIST.md").read_bytes() == first
        assert len(server.requests) == 2
        assert fake.not_modified == 2
        assert "2 requests, 2 answered from cache (304)" in out
    cache = json.loads((root / CACHE_FILE).read_text())
    assert cache["schema"] == "ci-tasks/readiness-cache"
    assert cache["version"] == 1
    assert cache["last"]["score"] == 100.0
    assert len(cache["history"]) == 1  # unchanged evidence adds no history entry
    assert all(entry["etag"] for entry in cache["api"].values())


def test_check_only_writes_nothing_and_gates(tmp_path):
    """--check-only computes and gates: exit 1 below the threshold, no file written."""
    root = project(tmp_path, good=False).path
    code, out = stage(root, "--check-only", "--offline")
    assert code == 1
    assert "below the 90 % threshold" in out
    assert not (root / "RELEASE_CHECKLIST.md").exists()
    assert not (root / CACHE_FILE).exists()
    code, out = stage(root, "--check-only", "--offline", "--threshold", "0")
    assert code == 0, out


def test_offline_marks_api_checks_not_applicable_visibly(tmp_path):
    """--offline needs no API and says so beside each skipped check."""
    root = project(tmp_path).path
    code, out = stage(root, "--offline")
    assert code == 0, out
    assert out.count("not checked: --offline") == 2
    text = (root / "RELEASE_CHECKLIST.md").read_text()
    assert "- [ ] ~~**CI duration**~~ (not-applicable, weight 1): not checked: --offline" in text


def test_dry_run_shows_a_diff_and_writes_nothing(tmp_path):
    """--dry-run prints the checklist diff; the existing files are left alone."""
    root = project(tmp_path).path
    stage(root, "--offline")
    before = (root / "RELEASE_CHECKLIST.md").read_bytes()
    cache_before = (root / CACHE_FILE).read_bytes()
    write_stage_report(root, "build", verdict="failed", body={})
    code, out = stage(root, "--offline", "--dry-run")
    assert code == 0, out
    assert "would change" in out
    assert "-- [x] **Build**" in out
    assert "+- [ ] **Build** (fail" in out
    assert (root / "RELEASE_CHECKLIST.md").read_bytes() == before
    assert (root / CACHE_FILE).read_bytes() == cache_before


def test_verbose_shows_evidence(tmp_path):
    """--verbose prints each check's evidence and source."""
    root = project(tmp_path).path
    _, quiet = stage(root, "--offline", "--check-only")
    _, loud = stage(root, "--offline", "--check-only", "--verbose")
    assert "flaky: tests/test_a.py::test_x" in loud
    assert "source: .ci-tasks/build-report.json" in loud
    assert "flaky: tests/test_a.py::test_x" not in quiet


def test_stale_report_fails_closed(tmp_path):
    """A report made before the latest commit cannot pass its check."""
    proj = project(
        tmp_path,
        "checks.ci-pass-rate.enabled = false\nchecks.ci-duration.enabled = false\n"
        "ci-evidence = false",
    )
    proj.write("README.md", "# changed\n")
    git(proj.path, "commit", "-qam", "change")
    code, out = stage(proj.path, "--check-only")
    assert code == 1
    assert "stale: .ci-tasks/build-report.json is from" in out


def test_exemption_is_shown_with_reason(tmp_path):
    """An exempt failing check leaves the score and is listed with its reason."""
    root = project(
        tmp_path, "exemptions = [{check = 'build', reason = 'no wheel yet (#12)'}]", good=False
    ).path
    write_stage_report(root, "security", verdict="passed", body={"findings": [], "skipped": 0})
    code, out = stage(root, "--offline", "--check-only")
    assert code == 0, out
    assert "exempt: no wheel yet (#12) (would be: fail" in out


def test_unreadable_cache_is_set_aside_and_rebuilt(tmp_path):
    """A corrupt cache is renamed with a warning and a fresh one written."""
    root = project(tmp_path).path
    (root / CACHE_FILE).write_text("{half")
    code, out = stage(root, "--offline")
    assert code == 0, out
    assert "was unreadable" in out
    assert json.loads((root / CACHE_FILE).read_text())["version"] == 1
    assert list(root.glob(f"{CACHE_FILE}.corrupt-*"))


@pytest.mark.parametrize(
    ("faults", "code", "message"),
    [
        ([Response(500, "boom")], 0, None),
        ([Response(429, "slow", {"Retry-After": "1"})], 0, None),
        ([Response(404, {"message": "Not Found"})], 2, "404 not found: repository octo/app"),
        ([Response(200, "{oops")], 2, "not the JSON expected"),
        ([Response(500, "boom")] * 2, 2, "answered HTTP 500 (after retries)"),
        (
            [Response(403, "limit", {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "1e12"})],
            2,
            "rate limit exhausted",
        ),
    ],
)
def test_api_faults_through_the_stage(tmp_path, faults, code, message):
    """Transient faults are retried and pass; the rest are one-line errors with exit 2."""
    root = project(tmp_path).path
    fake = FakeGitHub(runs=make_runs(["success"] * 10), faults=list(faults))
    with serve(fake) as server:
        fake.base = server.url
        got, out = stage(root, env=api_env(server, GITHUB_TOKEN="ghp_topsecret42"))
    assert got == code, out
    assert "ghp_topsecret42" not in out
    if message:
        errors = [line for line in out.splitlines() if line.startswith("error:")]
        assert len(errors) == 1
        assert message in errors[0]
        assert "readiness: could not run" in out


def test_api_hang_past_the_timeout_exits_2(tmp_path):
    """An API that does not answer within request-timeout is retried, then exit 2."""
    root = project(tmp_path, "request-timeout = 0.3").path
    fake = FakeGitHub(faults=[Response(200, "{}", delay=3)] * 2)
    with serve(fake) as server:
        code, out = stage(root, env=api_env(server))
        assert len(server.requests) == 2
    assert code == 2, out
    assert "no answer within 0.3 s" in out


def cli(root, *args, env=None):
    return subprocess.run(
        [sys.executable, "-m", "ci_tasks.cli", "readiness", *args],
        cwd=root,
        env=clean_env(env),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(("passing", "failing", "code"), [(899, 101, 1), (9, 1, 0), (900, 100, 0)])
def test_cli_check_only_exit_codes_at_the_threshold(tmp_path, passing, failing, code):
    """ci-tasks readiness --check-only: 89.9 % exits 1, 90 % exits 0."""
    toml = textwrap.dedent(f"""\
        checks.build.weight = {passing}
        checks.security.weight = {failing}
        checks.flaky-tests.enabled = false
        checks.dependencies.enabled = false
        checks.workflows.enabled = false
        """)
    root = project(tmp_path, toml).path
    write_stage_report(root, "security", verdict="failed", body={"findings": [], "skipped": 0})
    done = cli(root, "--check-only", "--offline")
    assert done.returncode == code, done.stdout + done.stderr
    shown = "89.9 %" if passing == 899 else "90.0 %"
    assert f"readiness {shown}" in done.stdout
    assert not (root / "RELEASE_CHECKLIST.md").exists()


def test_cli_api_error_exit_2_and_bad_flag(tmp_path):
    """An unknown repository exits 2 with one error line; a bad flag is a usage error."""
    root = project(tmp_path).path
    with serve(FakeGitHub(faults=[Response(404, {"message": "Not Found"})])) as server:
        done = cli(root, env={"GITHUB_API_URL": server.url})
    assert done.returncode == 2
    assert "no token is set (GITHUB_TOKEN or GH_TOKEN)" in done.stdout
    bad = cli(root, "--threshold", "150")
    assert bad.returncode == 2
    assert bad.stderr.strip().count("\n") == 0
    assert "--threshold: expected a percentage from 0 to 100" in bad.stderr


def test_nox_session_gates_with_posargs(tmp_path):
    """The nox session gates with --check-only (exit 1) and rejects a bad posarg (exit 2)."""
    proj = project(tmp_path, good=False)
    done = proj.nox("-s", "readiness", "--", "--check-only", "--offline", timeout=120)
    assert done.returncode == 1, done.stdout
    assert "below the 90 % threshold" in done.stdout
    bad = proj.nox("-s", "readiness", "--", "--nonsense", timeout=120)
    assert bad.returncode == 2, bad.stdout
    assert "unrecognized arguments: --nonsense" in bad.stdout


HOOK_SECRET, HOOK_QUERY, TOKEN = "hookPathSecret", "hookQuerySecret", "ghs_tokenSecret12345"
STAGING_PASSWORD, STAGING_QUERY = "stagingPassw0rd", "stagingQueryTok"


@pytest.mark.slow
@pytest.mark.parametrize("actions", [False, True], ids=["local", "actions"])
def test_no_secret_fragment_from_slack_or_the_pr_comment(tmp_path, actions):
    """Under real nox with --verbose: Slack, the API and the PR comment leak no secret piece."""
    proj = project(tmp_path, good=False)
    posted = []

    def slack(request):
        posted.append(request)
        return Response(200, "ok")

    fake = FakeGitHub(runs=make_runs(["success"] * 3))
    summary, outputs = tmp_path / "summary.md", tmp_path / "outputs.txt"
    with serve(fake) as api, serve(slack) as receiver:
        fake.base = api.url
        env = {
            **api_env(api),
            "GITHUB_TOKEN": TOKEN,
            "SLACK_WEBHOOK_URL": f"{receiver.url}/services/T9/B9/{HOOK_SECRET}?sig={HOOK_QUERY}",
            "STAGING_URL": f"https://deploy:{STAGING_PASSWORD}@staging.example/?k={STAGING_QUERY}",
        }
        if actions:
            env |= {
                "GITHUB_ACTIONS": "true",
                "GITHUB_STEP_SUMMARY": str(summary),
                "GITHUB_OUTPUT": str(outputs),
            }
        args = ("--notify", "--pr-comment", "--pr", "7", "--verbose")
        done = proj.nox("-s", "readiness", "--", *args, env=env, timeout=120)
    output = done.stdout
    assert done.returncode == 0, output
    assert posted, output  # Slack was called
    assert fake.writes == [("POST", f"/repos/{REPO}/issues/7/comments")]
    assert "http: " in output  # the client's request lines were shown, masked
    secrets = (HOOK_SECRET, HOOK_QUERY, TOKEN, STAGING_PASSWORD, STAGING_QUERY)
    assert leaks(secrets, output, proj.path, [summary, outputs, *proj.path.glob("*.md")]) == []


def test_checks_only_a_replaced_stage_feeds_do_not_apply_and_say_who_ran(tmp_path):
    """The project's own tests and lint ran, not ours: their checks leave the score, named."""
    root = project(tmp_path).path
    (root / ".ci-tasks/flaky-history.json").unlink()
    reports.report_path(root, "lint").unlink()
    code, out = stage(root, "--check-only", "--offline")
    assert code == 1, out  # ci_tasks' reports are missing: unknown, failing closed
    noxfile = root / "noxfile.py"
    by = {n: ReplacedStage(n, (n,), noxfile) for n in ("tests", "lint")}
    config = dataclasses.replace(load_config(root), replaced=by)
    stream = io.StringIO()
    ctx = StageContext(
        name="readiness",
        config=config,
        runner=Runner(env=clean_env(), cwd=root),
        posargs=["--check-only", "--offline", "--verbose"],
        output=Output(stream=stream, env={}),
    )
    code, out = run_stage(readiness, ctx), stream.getvalue()
    assert code == 0, out
    assert "100.0 %" in out
    assert (
        "tests: the project's own `tests` session runs in its place; its CI job's result "
        "counts in the CI pass rate" in out
    )
    assert "lint: the project's own `lint` session runs in its place" in out
    assert "SHA pinning not checked: the project's own `lint` session runs in lint's place" in out
    assert "run the tests session" not in out
