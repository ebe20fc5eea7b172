"""The security stage end to end: real bandit, pip-audit, uv and zizmor on a sample project.

pip-audit queries a real OSV-compatible server on 127.0.0.1 that knows one advisory
(CVE-2018-18074 for requests 2.19.0, fixed in 2.20.0). The scanners come from the CI
environment, which here is this repository's venv (ci-tasks depends on them). Most tests
run the stage in-process; one runs the real ``nox -s security`` session, which creates no
venv and installs nothing.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from ci_tasks.core.actions import Output
from ci_tasks.core.config import load_config
from ci_tasks.core.retry import set_testing
from ci_tasks.core.runner import Runner
from ci_tasks.core.stage import StageContext, run_stage
from ci_tasks.stages.security import ScanContext, security
from ci_tasks.stages.security._uv_check import UvPipCheck
from ci_tasks.stages.security.config import SecurityConfig, SecurityIgnore
from tests.support.localserver import Response, serve
from tests.support.osv import osv
from tests.support.sample import clean_env, make_project

SHELL = """\
import subprocess


def run(command):
    return subprocess.call(command, shell=True)
"""
QUIET = """\
import subprocess


def run(command):
    return subprocess.call(command, shell=True)  # nosec B602
"""
CLEAN_WORKFLOW = """\
name: ci
on:
  push:
permissions: {}
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2
        with:
          persist-credentials: false
      - run: echo ok
"""
PR_TARGET_WORKFLOW = """\
name: pr
on:
  pull_request_target:
permissions: {}
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2
        with:
          persist-credentials: false
          ref: ${{ github.event.pull_request.head.sha }}
      - run: make test
"""
TODAY = dt.datetime.now(dt.UTC).date()
FUTURE = TODAY + dt.timedelta(days=30)
PAST = TODAY - dt.timedelta(days=1)
CI_BIN = Path(sys.executable).parent


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1/query"


@pytest.fixture(scope="module")
def server():
    with serve(osv) as running:
        yield running


@pytest.fixture(scope="module")
def project(tmp_path_factory, server):
    return make_project(
        tmp_path_factory.mktemp("security"),
        dependencies=["requests==2.19.0"],
        dev=(),
        files={
            "sample/shell.py": SHELL,
            "sample/quiet.py": QUIET,
            ".github/workflows/ci.yml": CLEAN_WORKFLOW,
        },
        ci_tasks=(
            "retry = { attempts = 2, initial-delay = 0, jitter = 0 }\n"
            f'security = {{ osv-url = "{server.url}/v1/query" }}'
        ),
    )


@pytest.fixture(autouse=True)
def _no_sleep():
    set_testing(testing=True)
    yield
    set_testing(testing=False)


def run_security(project, *, ci=False, tools_dirs=None, **security_changes):
    """Run the stage in-process; its exit code, its output and its report.

    PATH holds only the system's folders: every tool must come from the CI environment.
    """
    config = load_config(project.path)
    config = config.with_section(
        dataclasses.replace(config.section(SecurityConfig), **security_changes)
    )
    env = clean_env({"CI": "true"} if ci else None)
    env["PATH"] = os.pathsep.join(["/usr/bin", "/bin"])
    stream = io.StringIO()
    output = Output(stream=stream, env={"NO_COLOR": "1"})
    runner = Runner(env=env, cwd=project.path, output=output, retry=config.retry.policy())
    ctx = StageContext(
        name="security", config=config, runner=runner, output=output, tools_dirs=tools_dirs
    )
    code = run_stage(security, ctx)
    report = json.loads((project.path / ".ci-tasks" / "security-report.json").read_text())
    return code, stream.getvalue(), report


def ignore(id_, until=FUTURE):
    return SecurityIgnore(id=id_, reason="accepted for the test", until=until)


def test_vulnerable_lock_fails_naming_cve_and_fix(project, server):
    """A locked requests 2.19.0 fails the session, naming CVE-2018-18074 and 2.20.0."""
    code, out, report = run_security(project)
    assert code == 1
    assert "CVE-2018-18074" in out
    assert "upgrade requests to 2.20.0" in out
    cve = next(f for f in report["findings"] if f["id"] == "CVE-2018-18074")
    lock_line = (project.path / "uv.lock").read_text().splitlines()[cve["line"] - 1]
    assert lock_line == 'name = "requests"'
    assert report["verdict"] == "failed"
    assert report["audited"] == 5
    assert report["skipped"] == 0
    assert set(report["scanners"]) == {
        "bandit",
        "pip-audit",
        "ci-supply-chain",
        "uv-pip-check",
        "zizmor",
    }
    ran = {name for name, s in report["scanners"].items() if s["status"] == "ran"}
    assert ran == {"bandit", "pip-audit", "uv-pip-check", "zizmor"}
    assert report["scanners"]["pip-audit"]["version"] == "2.10.1"
    # No noxfile.py.lock: the CI section says so instead of pretending it was audited.
    assert report["ci_supply_chain"]["lock"] is None
    assert "no noxfile.py.lock" in report["ci_supply_chain"]["note"]
    assert "CI supply chain" in out
    assert any(r.json()["package"]["name"] == "requests" for r in server.requests)


def test_bandit_finds_shell_true_and_honours_nosec(project):
    """Bandit reports shell=True with file and line; a `# nosec B602` line is not reported."""
    _, out, report = run_security(project)
    bandit = [f for f in report["findings"] if f["scanner"] == "bandit"]
    assert [(f["id"], f["file"], f["line"]) for f in bandit] == [("B602", "sample/shell.py", 5)]
    assert "sample/shell.py:5" in out


def test_ignored_with_reason_and_future_date_passes(project):
    """With the CVE (and the bandit finding) ignored until a future date, the session passes."""
    code, out, report = run_security(project, ignore=(ignore("CVE-2018-18074"), ignore("B602")))
    assert code == 0, out
    assert report["verdict"] == "passed"
    cve = next(f for f in report["findings"] if f["id"] == "CVE-2018-18074")
    assert cve["ignored"] is True
    assert cve["ignore_reason"] == "accepted for the test"
    assert "ignored pip-audit CVE-2018-18074" in out


def test_expired_ignore_fails_again(project):
    """An ignore past its date stops ignoring, and says so."""
    code, out, report = run_security(
        project, ignore=(ignore("GHSA-x84v-xcm2-53pg", until=PAST), ignore("B602"))
    )
    assert code == 1
    assert report["verdict"] == "failed"
    assert f"ignore GHSA-x84v-xcm2-53pg expired on {PAST}" in out


def test_unreachable_service_in_ci_fails_in_one_line(project):
    """CI=true, service unreachable: fails saying 'no dependency could be audited'."""
    code, out, report = run_security(
        project, ci=True, osv_url=closed_port_url(), ignore=(ignore("B602"),)
    )
    assert code == 1
    assert report["verdict"] == "unverified"
    assert report["audited"] == 0
    verdict_line = next(line for line in out.splitlines() if "security failed" in line)
    assert "UNVERIFIED" in verdict_line
    assert "no dependency could be audited" in verdict_line
    assert "Traceback" not in out


def test_unreachable_service_locally_warns(project):
    """Without CI the unverified result warns loudly (UNVERIFIED) and does not block."""
    code, out, report = run_security(project, osv_url=closed_port_url(), ignore=(ignore("B602"),))
    assert code == 0
    assert report["verdict"] == "unverified"
    assert report["unverified_reasons"] == [
        "pip-audit: vulnerability service unreachable: no dependency could be audited"
    ]
    assert "security: UNVERIFIED (pip-audit: vulnerability service unreachable" in out
    assert "security: UNVERIFIED (warning only" in out


def test_unverified_fail_setting_blocks_without_ci(project):
    """`unverified = "fail"` blocks even on a developer's machine."""
    code, _, _ = run_security(
        project, osv_url=closed_port_url(), unverified="fail", ignore=(ignore("B602"),)
    )
    assert code == 1


def test_syntax_error_fails_without_losing_other_scanners(project):
    """A file bandit cannot parse fails the session; pip-audit's findings are still reported."""
    broken = project.write("sample/broken.py", "def broken(:\n")
    try:
        code, out, report = run_security(project, ignore=(ignore("B602"),))
    finally:
        broken.unlink()
    assert code == 1
    assert report["scanners"]["bandit"]["status"] == "failed"
    assert "sample/broken.py: syntax error" in out
    assert any(f["id"] == "CVE-2018-18074" for f in report["findings"])
    assert report["scanners"]["zizmor"]["status"] == "ran"


def test_pull_request_target_workflow_fails_with_file_and_line(project):
    """Zizmor: pull_request_target checking out the PR head fails with file and line."""
    bad = project.write(".github/workflows/pr.yml", PR_TARGET_WORKFLOW)
    try:
        code, out, report = run_security(project, ignore=(ignore("CVE-2018-18074"), ignore("B602")))
    finally:
        bad.unlink()
    assert code == 1
    zizmor = [f for f in report["findings"] if f["scanner"] == "zizmor"]
    assert "dangerous-triggers" in {f["id"] for f in zizmor}
    assert all(f["file"] == ".github/workflows/pr.yml" and f["line"] for f in zizmor)
    assert ".github/workflows/pr.yml:3" in out


def test_missing_scanner_cannot_run(project, tmp_path):
    """A scanner missing from the CI env: exit 2 saying how to rebuild it; the others ran."""
    partial = tmp_path / "bin"
    partial.mkdir()
    for tool in ("uv", "pip-audit", "zizmor"):
        (partial / tool).symlink_to(CI_BIN / tool)
    code, out, report = run_security(project, tools_dirs=(partial,))
    assert code == 2
    assert "`bandit` is not in the CI environment" in out
    assert "uv run --locked --script noxfile.py" in out
    assert report["scanners"]["bandit"]["status"] == "failed"
    assert report["scanners"]["pip-audit"]["status"] == "ran"
    assert not (partial / "bandit").exists()


def test_uv_pip_check_reports_broken_requirement(tmp_path):
    """`uv pip check` over an environment missing a requirement gives a finding."""
    venv = tmp_path / "venv"
    env = clean_env()
    subprocess.run(["uv", "venv", "--quiet", str(venv)], check=True, env=env)
    subprocess.run(
        ["uv", "pip", "install", "--quiet", "--python", str(venv), "requests==2.19.0"],
        check=True,
        env=env,
    )
    subprocess.run(
        ["uv", "pip", "uninstall", "--quiet", "--python", str(venv), "idna"], check=True, env=env
    )
    output = Output(stream=io.StringIO(), env={})
    ctx = ScanContext(
        root=tmp_path,
        config=SecurityConfig(),
        runner=Runner(env=env, cwd=tmp_path, output=output),
        output=output,
        workdir=tmp_path,
        python=venv,
    )
    result = UvPipCheck().scan(ctx)
    assert result.status == "ran"
    [finding] = result.findings
    assert "`requests` requires `idna" in finding.message


def test_nox_session_in_ci_with_service_unreachable(project):
    """Real `nox -s security` (no venv, tools from the CI env): CI=true, no service: fails."""
    pyproject = project.path / "pyproject.toml"
    original = pyproject.read_text()
    url = original.split('osv-url = "')[1].split('"')[0]
    accepted = f'ignore = [{{ id = "B602", reason = "test", until = "{FUTURE}" }}], '
    pyproject.write_text(
        original.replace(f'osv-url = "{url}"', f'{accepted}osv-url = "{closed_port_url()}"')
    )
    try:
        done = project.nox("-s", "security", env={"CI": "true"})
    finally:
        pyproject.write_text(original)
    assert done.returncode == 1, done.stdout
    assert "no dependency could be audited" in done.stdout
    assert "Traceback" not in done.stdout
    report = json.loads((project.path / ".ci-tasks" / "security-report.json").read_text())
    assert report["verdict"] == "unverified"
    assert report["scanners"]["zizmor"]["version"] == "1.32.0"
    assert "Creating virtual environment" not in done.stdout
    assert not (project.path / ".nox" / "security").exists()


def _faulty(kind):
    calls = []

    def handler(request):
        calls.append(request)
        if kind == "500":
            return Response(500, "internal error")
        if kind == "reset":
            return Response(reset=True)
        if kind == "malformed":
            return Response(200, "{not json", {"Content-Type": "application/json"})
        if kind == "503-once" and len(calls) == 1:
            return Response(503, "busy")
        return osv(request)

    return handler


@pytest.mark.parametrize(
    ("fault", "verdict"),
    [
        ("500", "unverified"),
        ("reset", "unverified"),
        ("malformed", "failed"),
        ("503-once", "failed"),
    ],
)
def test_service_faults_never_pass(project, fault, verdict):
    """A 5xx or reset is unverified, malformed JSON a failure; a passing 503 is retried."""
    with serve(_faulty(fault)) as faulty:
        _, out, report = run_security(
            project, osv_url=f"{faulty.url}/v1/query", ignore=(ignore("B602"),)
        )
    assert report["verdict"] == verdict, out
    if fault == "503-once":
        # The retry got a real answer: the advisory is found.
        assert any(f["id"] == "CVE-2018-18074" for f in report["findings"])
    if fault == "malformed":
        assert "pip-audit exited 1 without a report" in out


WORKSPACE = """\
[tool.uv.sources]
helper = { workspace = true }
vendored = { path = "vendor/vendored" }

[tool.uv.workspace]
members = ["libs/helper"]
"""
CI_NOXFILE = """\
# /// script
# requires-python = ">=3.11"
# dependencies = ["requests==2.19.0"]
# ///
import nox
"""


def _member(name, dependency):
    return f"""\
[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"

[project]
name = "{name}"
version = "0.1.0"
dependencies = ["{dependency}"]
"""


@pytest.fixture(scope="module")
def local_project(tmp_path_factory, server):
    """A workspace member pulling requests 2.19.0, a vendored path package, a CI lock."""
    project = make_project(
        tmp_path_factory.mktemp("security-local"),
        dependencies=["helper", "vendored"],
        dev=(),
        lock=False,
        extra=WORKSPACE,
        files={
            "libs/helper/pyproject.toml": _member("helper", "requests==2.19.0"),
            "libs/helper/helper/__init__.py": "",
            "vendor/vendored/pyproject.toml": _member("vendored", "idna"),
            "vendor/vendored/vendored/__init__.py": "",
            "noxfile.py": CI_NOXFILE,
        },
        ci_tasks=f'security = {{ osv-url = "{server.url}/v1/query" }}',
    )
    project.lock()
    subprocess.run(
        ["uv", "lock", "--quiet", "--script", "noxfile.py"],
        cwd=project.path,
        env=clean_env(),
        check=True,
        timeout=300,
    )
    return project


@pytest.mark.slow
def test_path_dependencies_are_listed_and_the_rest_audited(local_project):
    """Path packages are listed as local and break nothing; their dependencies are audited."""
    code, out, report = run_security(local_project, ignore=(ignore("B602"),))
    assert code == 1, out
    assert report["local"] == ["helper", "vendored"]
    assert report["scanners"]["pip-audit"]["status"] == "ran"
    assert report["skipped_packages"] == []
    project_cves = [
        f for f in report["findings"] if f["scanner"] == "pip-audit" and f["id"] == "CVE-2018-18074"
    ]
    assert [f["file"] for f in project_cves] == ["uv.lock"]
    assert "pip-audit: local, not audited (their dependencies are): helper, vendored" in out
    assert "does not contain a hash" not in out


@pytest.mark.slow
def test_ci_lock_is_audited_in_its_own_section(local_project):
    """noxfile.py.lock is the CI supply chain: audited, its finding points at that lock."""
    _, out, report = run_security(local_project, ignore=(ignore("B602"),))
    section = report["ci_supply_chain"]
    assert section["lock"] == "noxfile.py.lock"
    assert section["status"] == "ran"
    assert section["audited"] == 5
    assert section["findings"] == ["CVE-2018-18074"]
    ci = next(f for f in report["findings"] if f["scanner"] == "ci-supply-chain")
    line = (local_project.path / "noxfile.py.lock").read_text().splitlines()[ci["line"] - 1]
    assert (ci["file"], line) == ("noxfile.py.lock", 'name = "requests"')
    assert "noxfile.py.lock: ran, 5 audited; CVE-2018-18074" in out
