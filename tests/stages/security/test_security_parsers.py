"""The security scanners' parsers and the verdict, over outputs captured from the real tools."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from ci_tasks.core.config import parse_config
from ci_tasks.core.errors import ConfigError
from ci_tasks.stages.security import _bandit, _pip_audit, _uv_check, _zizmor
from ci_tasks.stages.security._model import Finding, ScanResult
from ci_tasks.stages.security._verdict import headline, judge, report_body, summary_markdown
from ci_tasks.stages.security.config import SecurityIgnore

DATA = Path(__file__).parent / "security_data"
TODAY = dt.date(2026, 6, 1)


def load(name):
    return json.loads((DATA / name).read_text())


def test_bandit_errors_fail_the_scan():
    """Bandit's errors[] (syntax error, missing path) fail the scan even though it exits 0."""
    result = _bandit.parse(load("bandit-errors.json"))
    assert result.status == "failed"
    assert "pkg/bad.py: syntax error while parsing AST from file" in result.errors
    assert "./missing: No such file or directory" in result.errors
    [finding] = result.findings
    assert (finding.id, finding.file, finding.line, finding.severity) == (
        "B602",
        "pkg/a.py",
        5,
        "high",
    )
    assert result.version == "1.9.4"


def test_bandit_clean_report_ran():
    """A report with no errors and no results is a clean run."""
    result = _bandit.parse({"errors": [], "results": [], "metrics": {"_totals": {"loc": 3}}})
    assert (result.status, result.findings, result.counts["loc"]) == ("ran", (), 3)


def test_pip_audit_vulnerability_names_fix_and_aliases():
    """A vulnerable locked package becomes a finding with its fix version and aliases."""
    result = _pip_audit.parse(load("pip-audit-vulnerable.json"))
    assert result.status == "ran"
    assert result.counts == {"audited": 5, "skipped": 0, "vulnerabilities": 1}
    [finding] = result.findings
    assert finding.id == "CVE-2018-18074"
    assert "GHSA-x84v-xcm2-53pg" in finding.ids
    assert finding.fix == "upgrade requests to 2.20.0"


def test_pip_audit_partly_skipped_is_a_finding():
    """A dependency pip-audit skipped is a finding `skipped:<name>`, not a silent pass."""
    report = {
        "dependencies": [
            {"name": "requests", "version": "2.19.0", "vulns": []},
            {"name": "private-pkg", "skip_reason": "Dependency not found on PyPI"},
        ]
    }
    result = _pip_audit.parse(report)
    assert result.status == "ran"
    assert [f.id for f in result.findings] == ["skipped:private-pkg"]
    assert result.counts["skipped"] == 1


def test_partly_audited_set_fails_and_lists_the_skipped():
    """Some packages skipped by the service: failed (in CI as anywhere), each one named."""
    report = {
        "dependencies": [
            {"name": "requests", "version": "2.32.0", "vulns": []},
            {"name": "private-pkg", "skip_reason": "Dependency not found on PyPI"},
            {"name": "internal-tool", "skip_reason": "Dependency not found on PyPI"},
        ]
    }
    outcome = judge([_pip_audit.parse(report)], [], TODAY)
    assert outcome.verdict == "failed"
    body = report_body(outcome)
    assert body["skipped_packages"] == ["private-pkg", "internal-tool"]
    assert (body["audited"], body["skipped"]) == (1, 2)
    assert "skipped by the service, not audited: private-pkg, internal-tool" in summary_markdown(
        outcome
    )
    assert "skipped:private-pkg" in headline(outcome)


LOCK = """\
version = 1

[[package]]
name = "app"
version = "0.1.0"
source = { editable = "." }

[[package]]
name = "helper"
version = "0.1.0"
source = { editable = "libs/helper" }

[[package]]
name = "vendored"
version = "1.0"
source = { directory = "vendor/vendored" }

[[package]]
name = "wheelhouse"
version = "2.0"
source = { path = "wheels/wheelhouse-2.0-py3-none-any.whl" }

[[package]]
name = "requests"
version = "2.32.0"
source = { registry = "https://pypi.org/simple" }
"""


def test_local_packages_are_every_path_source_but_the_project():
    """Workspace members, directories and local files are local; the project is not."""
    assert _pip_audit.local_packages(LOCK) == ("helper", "vendored", "wheelhouse")


def test_pip_audit_all_skipped_is_unverified():
    """When every dependency was skipped, nothing was audited: unverified, never passed."""
    report = {
        "dependencies": [{"name": "a", "skip_reason": "x"}, {"name": "b", "skip_reason": "y"}]
    }
    result = _pip_audit.parse(report)
    assert result.status == "unverified"
    assert "no dependency could be audited" in result.errors[0]


@pytest.mark.parametrize(
    ("tail", "status"),
    [
        ((DATA / "pip-audit-unreachable.txt").read_text(), "unverified"),
        (
            "    raise ServiceError from http_error\npip_audit._service.interface.ServiceError",
            "unverified",
        ),
        ("ERROR: invalid requirement: 'nonsense=='", "failed"),
    ],
)
def test_pip_audit_without_report(tail, status):
    """No report: an unreachable/failing service is unverified, any other crash a failure."""
    result = _pip_audit.classify_crash(1, tail)
    assert result.status == status
    assert result.counts.get("audited", 0) == 0


def test_zizmor_findings_have_file_and_one_based_line():
    """Zizmor's primary location becomes file and 1-based line."""
    result = _zizmor.parse(load("zizmor-pr-target.json"))
    by_id = {f.id: f for f in result.findings}
    assert set(by_id) == {
        "artipacked",
        "excessive-permissions",
        "dangerous-triggers",
        "unpinned-uses",
    }
    assert (by_id["unpinned-uses"].file, by_id["unpinned-uses"].line) == (
        ".github/workflows/bad.yml",
        8,
    )
    assert by_id["dangerous-triggers"].severity == "high"


def test_uv_pip_check_output():
    """Each broken requirement `uv pip check` prints is one finding, once."""
    text = (DATA / "uv-pip-check.txt").read_text()
    result = _uv_check.parse(text + "\n" + text)
    [finding] = result.findings
    assert "requires `idna>=2.5,<2.8`" in finding.message


def _vuln(fid="CVE-1", aliases=()):
    return Finding("pip-audit", fid, "unknown", "m", file="uv.lock", aliases=aliases)


@pytest.mark.parametrize(
    ("results", "verdict"),
    [
        ([ScanResult("a", "ran"), ScanResult("b", "ran")], "passed"),
        ([ScanResult("a", "ran", findings=(_vuln(),))], "failed"),
        ([ScanResult("a", "failed", errors=("x",)), ScanResult("b", "unverified")], "failed"),
        ([ScanResult("a", "ran"), ScanResult("b", "unverified", errors=("gone",))], "unverified"),
    ],
)
def test_verdict(results, verdict):
    """Failed beats unverified beats passed."""
    assert judge(results, (), TODAY).verdict == verdict


def test_ignore_by_alias_until_its_date():
    """An ignore (any alias) holds through its `until` day and then stops, saying so."""
    ignore = SecurityIgnore(id="GHSA-1", reason="not reachable", until=TODAY)
    results = [ScanResult("pip-audit", "ran", findings=(_vuln(aliases=("GHSA-1",)),))]
    held = judge(results, [ignore], TODAY)
    assert held.verdict == "passed"
    assert report_body(held)["findings"][0]["ignored"] is True
    assert report_body(held)["findings"][0]["ignore_reason"] == "not reachable"
    expired = judge(results, [ignore], TODAY + dt.timedelta(days=1))
    assert expired.verdict == "failed"
    assert expired.notes == ("ignore GHSA-1 expired on 2026-06-01; CVE-1 counts again",)


def test_unverified_headline_and_summary():
    """The headline says UNVERIFIED and why; the summary lists every scanner."""
    outcome = judge(
        [
            ScanResult("pip-audit", "unverified", errors=("service unreachable",)),
            ScanResult("bandit", "ran"),
        ],
        (),
        TODAY,
    )
    assert headline(outcome) == "security: UNVERIFIED (pip-audit: service unreachable)"
    text = summary_markdown(outcome)
    assert "| bandit | ran |" in text
    assert "| pip-audit | unverified |" in text


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ({"id": "CVE-1", "until": "2030-01-01"}, "has no 'reason'"),
        ({"id": "CVE-1", "reason": "ok"}, "has no 'until' date"),
        ({"id": "CVE-1", "reason": "ok", "until": "soon"}, "expected a date (YYYY-MM-DD)"),
    ],
)
def test_ignore_needs_reason_and_date(entry, expected, tmp_path):
    """An ignore without a reason or a valid expiry date is a one-line config error."""
    with pytest.raises(ConfigError, match=r"security\.ignore") as info:
        parse_config({"security": {"ignore": [entry]}}, tmp_path / "pyproject.toml")
    assert expected in str(info.value)
    assert "\n" not in str(info.value)


def test_scanner_versions_key_points_to_the_ci_lock(tmp_path):
    """`[tool.ci-tasks.security.versions]` is refused in one line naming noxfile.py.lock."""
    with pytest.raises(ConfigError) as info:
        parse_config({"security": {"versions": {"bandit": "1.8"}}}, tmp_path / "pyproject.toml")
    message = str(info.value)
    assert "'versions' is no longer read" in message
    assert "noxfile.py.lock" in message
    assert "\n" not in message


def test_missing_ci_lock_is_said_not_pretended():
    """Without noxfile.py.lock the CI section says it was not audited; the verdict ignores it."""
    skipped = ScanResult("ci-supply-chain", "skipped", errors=(_pip_audit.NO_CI_LOCK,))
    outcome = judge([ScanResult("pip-audit", "ran"), skipped], [], TODAY)
    assert outcome.verdict == "passed"
    section = report_body(outcome)["ci_supply_chain"]
    assert section["lock"] is None
    assert section["status"] == "skipped"
    assert "no noxfile.py.lock" in section["note"]
    assert "### CI supply chain" in summary_markdown(outcome)
