"""The generated workflows: pinned, least-privileged, thin, zizmor-clean, schema-valid."""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from ci_tasks.adopt import init, workflows
from ci_tasks.core import reports, stage
from ci_tasks.core.config import Config, ReplacedStage, load_config
from ci_tasks.core.github import Artifact
from ci_tasks.core.workflow_files import WORKFLOWS_DIR
from ci_tasks.stages.testing import ci_durations
from ci_tasks.stages.testing.config import TestsConfig
from tests.support import actionlint
from tests.support.sample import NOXFILE, clean_env, make_project

REPO = Path(__file__).resolve().parents[2]
REGENERATE = (
    "uv run python -c 'from pathlib import Path; from ci_tasks.adopt import workflows as w; "
    "from ci_tasks import load_config as c; "
    "[Path(p).write_text(t) for p, t in w.render_all(w.WorkflowSpec.from_config(c())).items()]'"
)
BIN = Path(sys.executable).parent
SPEC = workflows.WorkflowSpec.from_config(Config())
RENDERED = workflows.render_all(SPEC)
WORKFLOW_FILES = sorted(p for p in RENDERED if p.startswith(WORKFLOWS_DIR))


def _load(text: str) -> dict:
    data = yaml.safe_load(text)
    data["on"] = data.pop(True)  # YAML 1.1 reads the bare key `on` as true
    return data


@pytest.fixture(scope="module")
def github_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("generated")
    for relative, text in RENDERED.items():
        target = root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    return root / ".github"


@pytest.mark.parametrize("path", WORKFLOW_FILES)
def test_every_action_is_pinned_to_a_sha_with_its_version(path):
    """Every `uses:` names a 40-hex commit and carries the tag it came from in a comment."""
    uses = re.findall(r"uses: (\S+)(.*)", RENDERED[path])
    assert uses
    for ref, comment in uses:
        assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", ref), ref
        assert re.fullmatch(r" # v\d+(\.\d+)*", comment), comment


@pytest.mark.parametrize("path", WORKFLOW_FILES)
def test_least_privilege_and_no_untrusted_expansion(path):
    """permissions: {} on top, a grant and a timeout per job, no ${{ }} in run:, no creds kept."""
    data = _load(RENDERED[path])
    assert data["permissions"] == {}
    assert "pull_request_target" not in data["on"]
    for job in data["jobs"].values():
        assert isinstance(job["permissions"], dict)
        assert "write-all" not in str(job["permissions"])
        assert job["timeout-minutes"]
        steps = job["steps"]
        assert steps[0]["uses"].startswith("actions/checkout@")
        assert steps[0]["with"]["persist-credentials"] is False
        assert steps[1]["uses"].startswith("astral-sh/setup-uv@")
        # Both locks key the cache: the project's and the CI environment's.
        assert steps[1]["with"]["cache-dependency-glob"].split() == ["uv.lock", "noxfile.py.lock"]
        runs = [s["run"] for s in steps if "run" in s]
        assert runs
        for run in runs:
            assert "${{" not in run
            # Thin: every shell step is a nox session, but for the Codecov token probe and
            # the lock update (ci_tasks itself, from the same locked environment).
            assert "uv run --locked --script noxfile.py " in run or run in {
                workflows.CODECOV_PROBE,
                workflows.LOCK_UPDATE,
            }
            assert "uv run --locked nox" not in run


def test_ci_fans_out_the_listed_sessions_and_gates_on_readiness():
    """ci.yml lists `ci` sessions with nox, runs each as a matrix job, then the readiness gate."""
    data = _load(RENDERED[f"{WORKFLOWS_DIR}/ci.yml"])
    # workflow_dispatch: the lock update starts it on its branch (GITHUB_TOKEN's push won't).
    assert set(data["on"]) == {"push", "pull_request", "workflow_dispatch"}
    assert data["concurrency"] == {
        "group": "${{ github.workflow }}-${{ github.ref }}",
        "cancel-in-progress": True,
    }
    jobs = data["jobs"]
    assert "noxfile.py -l --json -t ci" in jobs["sessions"]["steps"][-1]["run"]
    matrix = jobs["session"]["strategy"]["matrix"]
    assert matrix["include"] == "${{ fromJSON(needs.sessions.outputs.matrix) }}"
    assert jobs["session"]["timeout-minutes"] == "${{ matrix.timeout }}"
    gate = jobs["readiness"]
    assert gate["needs"] == ["sessions", "build", "tests", "session"]
    assert "noxfile.py -s readiness -- --check-only" in gate["steps"][-1]["run"]
    assert "--pr-comment" in gate["steps"][-1]["env"]["PR_COMMENT"]
    assert gate["permissions"]["pull-requests"] == "write"


def test_job_timeouts_sit_a_margin_above_the_configured_session_timeouts():
    """A longer [tool.ci-tasks.timeouts] entry lengthens the job's backstop to match."""
    config = Config(timeouts={"tests": 3600, "smoke": 90})
    spec = workflows.WorkflowSpec.from_config(config, margin_minutes=5)
    ci = _load(workflows.render_ci(spec))
    minutes = json.loads(ci["jobs"]["sessions"]["steps"][-1]["env"]["MINUTES"])
    assert minutes["tests"] == 65
    assert minutes["lint"] == 20
    smoke = _load(workflows.render_staging_smoke(spec))
    assert smoke["jobs"]["smoke"]["timeout-minutes"] == 7


def test_update_readiness_and_smoke_triggers_and_secrets():
    """The readiness and smoke workflows have the seed's triggers, and secrets only via env."""
    readiness = _load(RENDERED[f"{WORKFLOWS_DIR}/update-readiness.yml"])
    assert readiness["on"]["push"] == {"branches": ["main", "develop"]}
    assert readiness["on"]["schedule"] == [{"cron": "0 9 * * *"}]
    assert "workflow_dispatch" in readiness["on"]
    job = readiness["jobs"]["readiness"]
    assert job["permissions"] == {
        "actions": "read",
        "contents": "write",
        "pull-requests": "read",
    }
    assert job["steps"][-1]["run"] == (
        "uv run --locked --script noxfile.py -s readiness -- --commit --push --notify"
    )
    assert set(job["steps"][-1]["env"]) == {"GITHUB_TOKEN", "SLACK_WEBHOOK_URL"}

    smoke = _load(RENDERED[f"{WORKFLOWS_DIR}/staging-smoke-test.yml"])
    assert smoke["on"]["workflow_run"] == {"workflows": ["CI"], "types": ["completed"]}
    assert smoke["on"]["schedule"] == [{"cron": "0 */4 * * *"}]
    job = smoke["jobs"]["smoke"]
    assert "github.event.workflow_run.conclusion == 'success'" in job["if"]
    assert "github.event.repository.default_branch" in job["if"]
    assert job["permissions"] == {"contents": "read"}
    assert set(job["steps"][-1]["env"]) == {"STAGING_URL", "SLACK_WEBHOOK_URL"}


def test_dependabot_watches_actions_and_uv():
    """dependabot.yml updates the pinned actions and the uv lock."""
    data = yaml.safe_load(RENDERED[workflows.DEPENDABOT])
    assert {u["package-ecosystem"] for u in data["updates"]} == {"github-actions", "uv"}


def _zizmor(path: Path) -> list:
    done = subprocess.run(
        [BIN / "zizmor", "--offline", "--format", "json", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode in (0, 10, 11, 12, 13, 14), done.stderr
    return json.loads(done.stdout)


def test_zizmor_finds_nothing_in_the_generated_files(github_dir, tmp_path):
    """Offline zizmor reports nothing; the same run on an unsafe variant does report."""
    assert _zizmor(github_dir) == []
    unsafe = tmp_path / "ci.yml"
    text = RENDERED[f"{WORKFLOWS_DIR}/ci.yml"]
    unsafe.write_text(text.replace(workflows.SETUP_UV.sha, "v10", 1))
    assert _zizmor(unsafe)


def test_actionlint_finds_nothing_in_the_generated_files(github_dir, tmp_path):
    """Every generated workflow passes actionlint; a broken variant of ci.yml does not."""
    done = actionlint.lint(github_dir.parent, len(WORKFLOW_FILES))
    assert done.returncode == 0, done.stdout + done.stderr
    broken = tmp_path / WORKFLOWS_DIR / "ci.yml"
    broken.parent.mkdir(parents=True)
    text = RENDERED[f"{WORKFLOWS_DIR}/ci.yml"]
    broken.write_text(text.replace("${{ matrix.os }}", "${{ needs.no_such_job.outputs.os }}", 1))
    done = actionlint.lint(tmp_path, 1)
    assert done.returncode == 1
    assert "no_such_job" in done.stdout


def test_generated_files_validate_against_the_github_schemas(github_dir):
    """check-jsonschema's bundled workflow and dependabot schemas accept the files."""
    for schema, files in (
        ("vendor.github-workflows", sorted((github_dir / "workflows").glob("*.yml"))),
        ("vendor.dependabot", [github_dir / "dependabot.yml"]),
    ):
        done = subprocess.run(
            [BIN / "check-jsonschema", "--builtin-schema", schema, *files],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr


def test_this_repository_github_dir_is_what_init_generates():
    """The repository's own .github/ is byte for byte what `ci-tasks init` writes for it."""
    expected = workflows.render_all(workflows.WorkflowSpec.from_config(load_config(REPO)))
    for relative, text in expected.items():
        assert (REPO / relative).read_text() == text, (
            f"{relative} differs: regenerate .github/ with {REGENERATE!r} (init --force "
            "would also replace this repository's own noxfile.py)"
        )
    present = {p.relative_to(REPO).as_posix() for p in (REPO / ".github/workflows").iterdir()}
    assert present == {p for p in expected if p.startswith(WORKFLOWS_DIR)}
    plan = init.plan(REPO)
    github = [c for c in plan.changes if c.path.startswith(".github/")]
    assert github
    assert {c.action for c in github} == {"unchanged"}


def test_coverage_uploaded_and_sent_to_codecov_only_with_a_token():
    """Tests jobs keep their .ci-tasks/<session>/coverage.xml; Codecov only with a token."""
    steps = _load(RENDERED[f"{WORKFLOWS_DIR}/ci.yml"])["jobs"]["session"]["steps"]
    by_name = {s["name"]: s for s in steps}
    keep = by_name["Keep the coverage report"]
    assert keep["with"]["path"] == ".ci-tasks/${{ matrix.session }}/coverage.xml"
    assert "startsWith(matrix.session, 'tests')" in keep["if"]
    probe = by_name["Is a Codecov token set?"]
    assert probe["env"] == {"CODECOV_TOKEN": "${{ secrets.CODECOV_TOKEN }}"}
    upload = by_name["Upload coverage to Codecov"]
    assert upload["uses"].startswith("codecov/codecov-action@")
    assert "steps.codecov.outputs.set == 'true'" in upload["if"]
    assert "hashFiles(format('.ci-tasks/{0}/coverage.xml', matrix.session)) != ''" in upload["if"]


def test_tests_jobs_upload_their_durations_alone_under_the_name_the_next_run_reads(tmp_path):
    """`durations-<session>-<os>` holds the durations files only; ci_durations picks it."""
    jobs = _load(RENDERED[f"{WORKFLOWS_DIR}/ci.yml"])["jobs"]
    for job in ("tests", "session"):
        steps = {s["name"]: s for s in jobs[job]["steps"]}
        keep = steps["Keep the recorded test durations for the next run's split"]["with"]
        assert keep["include-hidden-files"] is True
        name = keep["name"].replace("${{ matrix.session }}", "tests-3.11")
        name = name.replace("${{ matrix.os }}", "ubuntu-latest")
        listed = [
            Artifact(1, name, 1, expired=False, download_url="1"),
            Artifact(2, "ci-tasks-tests-3.11-ubuntu-latest", 9, expired=False, download_url="2"),
        ]
        assert ci_durations.choose_artifacts(listed, "tests-3.11", "Linux") == ([listed[0]], "")
    written = [
        ".ci-tasks/test-durations.json",
        ".ci-tasks/tests-shard1of2-3.11/test-durations.json",
        ".ci-tasks/tests-3.11/junit.xml",
        ".ci-tasks/tests-report.json",
    ]
    for name in written:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("{}")
    matched = {
        p.relative_to(tmp_path).as_posix()
        for pattern in keep["path"].split()
        for p in tmp_path.glob(pattern)
    }
    assert matched == set(written[:2])


def test_ci_uploads_the_reports_under_the_name_readiness_fetches():
    """Each CI job uploads .ci-tasks/ as `<ARTIFACT_PREFIX><session>-<os>`, hidden files kept."""
    ci = _load(RENDERED[f"{WORKFLOWS_DIR}/ci.yml"])
    uploads = [
        s["with"]
        for s in ci["jobs"]["session"]["steps"]
        if s.get("with", {}).get("path") == f"{reports.REPORT_DIR}/"
    ]
    assert len(uploads) == 1
    assert uploads[0]["name"] == reports.ARTIFACT_PREFIX + "${{ matrix.session }}-${{ matrix.os }}"
    assert uploads[0]["include-hidden-files"] is True
    collect = ci["jobs"]["readiness"]["steps"]
    assert any(s.get("with", {}).get("pattern") == f"{reports.ARTIFACT_PREFIX}*" for s in collect)


def test_update_readiness_may_read_actions_and_write_contents_only():
    """The scheduled readiness job reads runs, artifacts and pull requests, commits, no more."""
    data = _load(RENDERED[f"{WORKFLOWS_DIR}/update-readiness.yml"])
    assert data["jobs"]["readiness"]["permissions"] == {
        "actions": "read",
        "contents": "write",
        "pull-requests": "read",
    }


def test_update_ci_lock_runs_weekly_from_the_locked_environment_with_three_grants():
    """update-ci-lock.yml: weekly and manual; contents and pull-requests write, and actions."""
    data = _load(RENDERED[f"{WORKFLOWS_DIR}/update-ci-lock.yml"])
    assert data["on"] == {"schedule": [{"cron": "0 6 * * 1"}], "workflow_dispatch": None}
    assert data["concurrency"] == {"group": "${{ github.workflow }}", "cancel-in-progress": False}
    (job,) = data["jobs"].values()
    # actions: write to dispatch ci.yml on the pushed branch; no other job may start workflows.
    assert job["permissions"] == {"actions": "write", "contents": "write", "pull-requests": "write"}
    others = [
        j
        for path in WORKFLOW_FILES
        if not path.endswith("update-ci-lock.yml")
        for j in _load(RENDERED[path])["jobs"].values()
    ]
    assert all(j["permissions"].get("actions") != "write" for j in others)
    step = job["steps"][-1]
    assert step["env"] == {"GITHUB_TOKEN": "${{ github.token }}"}
    assert step["run"] == workflows.LOCK_UPDATE
    assert "lock --upgrade --pull-request" in step["run"]
    assert "--locked --script noxfile.py" in step["run"]


def _matrix_program(ci: dict) -> tuple[str, str]:
    """The jq program and the MINUTES table of ci.yml's listing step, as the runner runs it."""
    step = ci["jobs"]["sessions"]["steps"][-1]
    run = step["run"]
    return run[run.index("'") + 1 : run.rindex("'")], step["env"]["MINUTES"]


def _ci_matrix(root: Path, tmp_path: Path) -> list[dict]:
    """The matrix ci.yml's listing step makes for the project in *root*: real nox, real jq."""
    jq = shutil.which("jq")
    if jq is None:
        pytest.skip("jq is not installed here (GitHub's runners have it); the matrix needs it")
    listing = subprocess.run(
        [sys.executable, "-m", "nox", "-l", "--json", "-t", "ci"],
        cwd=root,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    program, minutes = _matrix_program(_load(RENDERED[f"{WORKFLOWS_DIR}/ci.yml"]))
    listed = tmp_path / "sessions.json"
    listed.write_text(listing.stdout)
    done = subprocess.run(
        [jq, "-c", "--argjson", "minutes", minutes, program, str(listed)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    split = json.loads(done.stdout)
    return [*split["build"], *split["tests"], *split["other"]]


def test_ci_matrix_is_every_ci_session_on_every_configured_os(tmp_path):
    """Nox lists os and -dev in tags: one job per session and OS; the -dev ones may fail."""
    sample = make_project(
        tmp_path / "p",
        lock=False,
        ci_tasks=(
            'python = ["3.12", "pypy3.11", "3.14t", "3.16-dev"]\n'
            'os = ["ubuntu-latest", "windows-latest", "macos-14"]'
        ),
    )
    jobs = _ci_matrix(sample.path, tmp_path)
    oses = ["ubuntu-latest", "windows-latest", "macos-14"]
    sessions = ["lint", "tests-3.12", "tests-pypy3.11", "tests-3.14t", "tests-3.16"]
    sessions += ["security", "build"]
    assert sorted((j["session"], j["os"]) for j in jobs) == sorted(
        (s, o) for s in sessions for o in oses
    )
    assert {j["session"] for j in jobs if j["allow_failure"]} == {"tests-3.16"}
    assert {j["timeout"] for j in jobs if j["session"].startswith("tests")} == {35}
    # readiness (its own job) and smoke (its own workflow) are never multiplied.
    assert not {"readiness", "smoke"} & {j["session"] for j in jobs}


def test_ci_matrix_takes_a_stages_own_os_and_leaves_out_excluded_pairs(tmp_path):
    """The tests on three OSes but pypy3.11 not on Windows; build on Linux only; the rest as set."""
    sample = make_project(
        tmp_path / "p",
        lock=False,
        ci_tasks='python = ["3.12", "pypy3.11"]\nos = ["ubuntu-latest", "macos-14"]',
        extra=(
            "[tool.ci-tasks.tests]\n"
            'os = ["ubuntu-latest", "windows-latest", "macos-14"]\n'
            'exclude = [{python = "pypy3.11", os = "windows-latest"}]\n'
            "shards = 2\n\n"
            "[tool.ci-tasks.build]\n"
            'os = ["ubuntu-latest"]\n'
        ),
    )
    jobs = sorted((j["session"], j["os"]) for j in _ci_matrix(sample.path, tmp_path))
    shards = [f"tests-shard{k}of2-{p}" for k in (1, 2) for p in ("3.12", "pypy3.11")]
    expected = [
        *((s, o) for s in ("lint", "security") for o in ("ubuntu-latest", "macos-14")),
        ("build", "ubuntu-latest"),
        *((s, o) for s in shards for o in ("ubuntu-latest", "windows-latest", "macos-14")),
    ]
    dropped = [(s, "windows-latest") for s in shards if s.endswith("pypy3.11")]
    assert jobs == sorted(set(expected) - set(dropped))
    assert len(dropped) == 2
    # The workflow rendered for this configuration stays zizmor- and actionlint-clean.
    ci = workflows.render_ci(workflows.WorkflowSpec.from_config(load_config(sample.path)))
    written = tmp_path / "lint" / WORKFLOWS_DIR / "ci.yml"
    written.parent.mkdir(parents=True)
    written.write_text(ci)
    assert _zizmor(written) == []
    linted = actionlint.lint(tmp_path / "lint", 1)
    assert linted.returncode == 0, linted.stdout + linted.stderr


def test_ci_matrix_defaults_to_ubuntu_for_a_session_without_os_tags(tmp_path):
    """A ci session of the project's own noxfile (no os: tags) still runs, on ubuntu-latest."""
    sample = make_project(tmp_path / "p", lock=False)
    sample.write(
        "noxfile.py",
        NOXFILE + "\n\n@nox.session(python=False, tags=['ci'])\ndef docs(session):\n    pass\n",
    )
    jobs = _ci_matrix(sample.path, tmp_path)
    assert {"session": "docs", "os": "ubuntu-latest", "timeout": 35, "allow_failure": False} in (
        jobs
    )
    assert {j["os"] for j in jobs} == {"ubuntu-latest"}


def test_each_job_runs_on_its_os_and_keeps_its_reports_under_a_unique_name():
    """runs-on, artifact names and the readiness download are per job, so OSes never collide."""
    ci = _load(RENDERED[f"{WORKFLOWS_DIR}/ci.yml"])
    job = ci["jobs"]["session"]
    assert job["runs-on"] == "${{ matrix.os }}"
    assert job["continue-on-error"] == "${{ matrix.allow_failure }}"
    assert "${{ matrix.os }}" in job["name"]
    names = [s["with"]["name"] for s in job["steps"] if "upload-artifact" in s.get("uses", "")]
    assert names
    assert all(n.endswith("${{ matrix.session }}-${{ matrix.os }}") for n in names)
    collect = next(
        s for s in ci["jobs"]["readiness"]["steps"] if "download-artifact" in s.get("uses", "")
    )
    assert collect["with"]["path"] == f"{reports.JOBS_DIR}/"
    assert "merge-multiple" not in collect["with"]  # one folder per job
    # The listing and the gate run once, on Linux, whatever [tool.ci-tasks] os says.
    assert ci["jobs"]["sessions"]["runs-on"] == ci["jobs"]["readiness"]["runs-on"]


def test_this_repository_tests_on_linux_macos_and_windows():
    """ci_tasks' own CI runs every session on ubuntu, macOS and Windows."""
    config = load_config(REPO)
    assert {label.split("-")[0] for label in config.os} == {"ubuntu", "macos", "windows"}


@pytest.mark.parametrize(
    ("settings", "reads"),
    [
        ({}, True),  # workers = "auto", the default
        ({"workers": 1}, False),
        ({"workers": 4}, False),
        ({"workers": 1, "shards": 3}, True),
        ({"shards": 3}, True),
    ],
)
def test_tests_jobs_may_read_the_last_ci_runs_durations_where_they_use_them(
    settings, reads, tmp_path
):
    """`actions: read` and the token for shards and workers = auto; none for a fixed count."""
    config = Config(root=tmp_path).with_section(TestsConfig(**settings))
    job = _load(workflows.render_ci(workflows.WorkflowSpec.from_config(config)))["jobs"]["session"]
    nox = next(s for s in job["steps"] if s["name"].startswith("nox -s"))
    if not reads:  # nothing would read them: no token in the project's test run
        assert job["permissions"] == {"contents": "read"}
        assert "CI_TASKS_GITHUB_TOKEN" not in nox["env"]
    else:
        assert job["permissions"] == {"contents": "read", "actions": "read"}
        # Only the tests sessions see the token; lint, security and build run without it.
        token = "${{ startsWith(matrix.session, 'tests') && github.token || '' }}"
        # Under ci_tasks' own name, which the project's pytest does not inherit.
        assert nox["env"]["CI_TASKS_GITHUB_TOKEN"] == token
        assert "GITHUB_TOKEN" not in nox["env"]


def _durations_grant(config: Config) -> bool:
    job = _load(workflows.render_ci(workflows.WorkflowSpec.from_config(config)))["jobs"]["session"]
    return job["permissions"].get("actions") == "read"


def test_no_durations_grant_where_xdist_in_addopts_or_a_noxfile_tests_session_decides(tmp_path):
    """Pytest addopts with -n, or a noxfile tests session: no `actions: read`; shards: yes."""
    sample = make_project(tmp_path / "p", lock=False)
    assert _durations_grant(load_config(sample.path))
    pyproject = sample.path / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text() + '\n[tool.pytest.ini_options]\naddopts = "-n auto -q"\n'
    )
    xdist = load_config(sample.path)
    assert not _durations_grant(xdist)
    assert _durations_grant(xdist.with_section(TestsConfig(shards=2)))  # a split reads them
    own = {"tests": ReplacedStage("tests", ("tests",), sample.path / "noxfile.py")}
    assert not _durations_grant(dataclasses.replace(Config(), replaced=own))


def test_a_stage_its_spec_calls_local_gets_no_job_timeout(monkeypatch):
    """Job timeouts cover every stage but those its StageSpec says run on a laptop only."""
    minutes = dict(workflows.WorkflowSpec.from_config(Config()).timeouts)
    assert "preflight" not in minutes
    assert "build" in minutes
    monkeypatch.setitem(
        stage._STAGES, "build", dataclasses.replace(stage._STAGES["build"], local=True)
    )
    assert "build" not in dict(workflows.WorkflowSpec.from_config(Config()).timeouts)


def test_the_tests_jobs_test_the_wheel_the_build_job_uploads():
    """The build job uploads its folder; each tests job needs it, downloads it, --wheel's it."""
    jobs = _load(RENDERED[f"{WORKFLOWS_DIR}/ci.yml"])["jobs"]
    build, tests = jobs["build"], jobs["tests"]
    assert build["strategy"]["matrix"]["include"] == "${{ fromJSON(needs.sessions.outputs.build) }}"
    upload = next(s for s in build["steps"] if s.get("with", {}).get("name") == "dist")
    assert upload["uses"] == workflows.UPLOAD_ARTIFACT.uses.split(" #")[0]
    assert upload["with"]["path"] == "${{ matrix.dist }}/"
    assert "matrix.upload" in upload["if"]  # one build's wheel, whatever the OSes
    assert tests["needs"] == ["sessions", "build"]
    assert tests["strategy"]["matrix"]["include"] == "${{ fromJSON(needs.sessions.outputs.tests) }}"
    names = [s.get("uses", "").split("@")[0] for s in tests["steps"]]
    take = tests["steps"][names.index("actions/download-artifact")]
    assert take["with"] == {"name": "dist", "path": "dist/"}
    run = tests["steps"][names.index("actions/download-artifact") + 1]
    # No shell glob: the session picks the folder's one pure wheel itself (Windows too).
    assert run["run"].endswith('-s "$SESSION" -- --wheel dist/')
    assert jobs["readiness"]["needs"] == ["sessions", "build", "tests", "session"]


@pytest.mark.parametrize(("install", "wheel"), [("wheel", True), ("project", False)])
def test_the_listing_sends_the_tests_sessions_to_the_tests_jobs_by_install(
    tmp_path, install, wheel
):
    """With install = "wheel" the tests sessions run in the tests jobs; "project": the others."""
    sample = make_project(
        tmp_path / "p",
        lock=False,
        ci_tasks='os = ["ubuntu-latest", "windows-latest"]',
        extra=f'\n[tool.ci-tasks.tests]\ninstall = "{install}"\n',
    )
    jq = shutil.which("jq")
    if jq is None:
        pytest.skip("jq is not installed here (GitHub's runners have it); the matrix needs it")
    listing = subprocess.run(
        [sys.executable, "-m", "nox", "-l", "--json", "-t", "ci"],
        cwd=sample.path,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    program, minutes = _matrix_program(_load(RENDERED[f"{WORKFLOWS_DIR}/ci.yml"]))
    done = subprocess.run(
        [jq, "-c", "--argjson", "minutes", minutes, program],
        input=listing.stdout,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    split = json.loads(done.stdout)
    assert [(j["session"], j["os"], j["upload"]) for j in split["build"]] == [
        ("build", "ubuntu-latest", True),
        ("build", "windows-latest", False),
    ]
    assert {j["dist"] for j in split["build"]} == {"dist"}
    in_tests = {(j["session"], j["os"]) for j in split["tests"]}
    in_other = {j["session"] for j in split["other"]}
    tests = {("tests-3.11", "ubuntu-latest"), ("tests-3.11", "windows-latest")}
    assert in_tests == (tests if wheel else set())
    assert ("tests-3.11" in in_other) is not wheel
    assert "build" not in in_other
