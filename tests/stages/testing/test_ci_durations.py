"""The durations the newest earlier CI run uploaded: for shards, and for workers = "auto".

The HTTP path runs against a fake GitHub on a local server; which run is read, and why
not, against GitHub's answers held in memory. Last, a whole-suite session's preparation
(read, look up, plan) in a fresh checkout, as a CI job starts, against the local server.
"""

from __future__ import annotations

import datetime as dt
import json
from types import SimpleNamespace

import pytest

from ci_tasks.core.actions import Output
from ci_tasks.core.config import Config, RetryConfig
from ci_tasks.core.errors import ConfigError
from ci_tasks.core.github import Artifact
from ci_tasks.core.retry import RetryPolicy
from ci_tasks.core.runner import Runner
from ci_tasks.core.stage import StageContext
from ci_tasks.stages.testing import ci_durations, durations, session
from ci_tasks.stages.testing._pytest.ci_tasks_split import split
from ci_tasks.stages.testing.config import TestsConfig
from ci_tasks.stages.testing.environment import usable_cores
from tests.support.github_fake import (
    REPO,
    FakeGitHub,
    FakeStorage,
    make_runs,
    other_host,
    zip_archive,
)
from tests.support.github_memory import MemoryGitHub
from tests.support.localserver import serve

TOKEN = "ghs_fake-token-for-durations"
POLICY = RetryPolicy(attempts=1, initial_delay=0, max_delay=0, jitter=0)


def _store(values: dict[str, float]) -> str:
    return json.dumps(
        {"schema": durations.SCHEMA, "version": 1, "tests": {k: [v] for k, v in values.items()}}
    )


def _env(api_url: str, **extra: str) -> dict[str, str]:
    env = {
        "GITHUB_API_URL": api_url,
        "CI_TASKS_GITHUB_TOKEN": TOKEN,
        "GITHUB_REPOSITORY": REPO,
        "GITHUB_RUN_ID": "2000",
        "GITHUB_REF_NAME": "main",
        "GITHUB_WORKFLOW_REF": f"{REPO}/.github/workflows/ci.yml@refs/heads/main",
    }
    return {**env, **extra}


def _fake() -> tuple[FakeGitHub, FakeStorage]:
    """Two completed runs; this run (2000) began after the newest of them had finished."""
    fake, storage = FakeGitHub(runs=make_runs(["success", "failure"])), FakeStorage()
    began = dt.datetime(2026, 11, 1, 1, tzinfo=dt.UTC).isoformat().replace("+00:00", "Z")
    fake.current = {**fake.runs[0], "id": 2000, "run_started_at": began, "status": "in_progress"}
    return fake, storage


def test_shards_split_by_the_durations_the_last_ci_run_uploaded(tmp_path):
    """Each shard's artifact holds its tests' durations: merged, they balance the split by time."""
    slow = {f"tests/test_a.py::test_slow[{n}]": 3.0 for n in range(2)}
    quick = {f"tests/test_b.py::test_quick[{n}]": 0.01 for n in range(8)}
    fake, storage = _fake()
    with serve(fake) as api, serve(storage) as blob:
        fake.base, fake.storage = api.url, other_host(blob.url)
        shard1 = zip_archive({"tests-shard1of2-3.11/test-durations.json": _store(slow)})
        shard2 = zip_archive({"tests-shard2of2-3.11/test-durations.json": _store(quick)})
        fake.upload(fake.runs[0], "ci-tasks-tests-shard1of2-3.11", shard1, storage)
        fake.upload(fake.runs[0], "ci-tasks-tests-shard2of2-3.11", shard2, storage)
        fake.upload(fake.runs[1], "ci-tasks-tests-shard1of2-3.11", zip_archive({}), storage)
        found = ci_durations.from_ci(tmp_path, _env(api.url), POLICY)
    assert found.said == "the durations CI run #1234 recorded (10 tests)"
    assert found.store == {n: [v] for n, v in {**slow, **quick}.items()}
    groups = split(list(found.store), durations.latest(found.store), 2)
    # By time: one slow test in each shard (by count, both could land in one).
    assert [sum("test_slow" in n for n in group) for group in groups] == [1, 1]
    assert not (tmp_path / ".ci-tasks").exists()  # nothing written into the checkout


def test_a_run_that_finished_after_this_one_began_is_not_used(tmp_path):
    """Every shard picks the same run: one still running when this run began is skipped."""
    fake, storage = _fake()
    fake.current["run_started_at"] = "2026-10-31T23:30:00Z"  # before runs[0] ended
    with serve(fake) as api, serve(storage) as blob:
        fake.base, fake.storage = api.url, other_host(blob.url)
        newest = zip_archive({"test-durations.json": _store({"t.py::a": 1.0})})
        fake.upload(fake.runs[0], "ci-tasks-tests-3.11", newest, storage)
        found = ci_durations.from_ci(tmp_path, _env(api.url), POLICY)
    assert found == ci_durations.Found({}, "CI run #1233 uploaded no recorded durations")


def test_without_a_token_or_an_api_the_split_is_by_count_and_says_why(tmp_path):
    """No token, an unreachable API, no earlier run: split by count, one line saying why."""
    no_token = ci_durations.from_ci(tmp_path, {"GITHUB_REPOSITORY": REPO}, POLICY)
    assert no_token.store == {}
    assert "no CI_TASKS_GITHUB_TOKEN" in no_token.said
    fake = FakeGitHub(runs=[], current={"id": 2000, "run_started_at": "2026-11-01T00:00:00Z"})
    with serve(fake) as api:
        fake.base = api.url
        none = ci_durations.from_ci(tmp_path, _env(api.url), POLICY)
    assert none.said == "no earlier completed run of this workflow"
    with serve(lambda _request: (_ for _ in ()).throw(OSError)) as dead:
        url = dead.url
    gone = ci_durations.from_ci(tmp_path, _env(url), POLICY)
    assert gone.store == {}
    assert gone.said.startswith("the last CI run's durations could not be read")
    assert TOKEN not in gone.said


def _memory(runs: list[dict[str, object]], began: str) -> MemoryGitHub:
    """GitHub in memory: completed *runs* and this run (2000), which began at *began*."""
    current = {"id": 2000, "run_started_at": began, "status": "in_progress"}
    return MemoryGitHub(runs=runs, current=current)


def test_the_newest_run_finished_before_this_one_began_is_the_one_read(tmp_path):
    """Runs still going when this one began are passed over for the newest one finished."""
    github = _memory(make_runs(["success"] * 3), began="2026-10-31T23:00:00Z")
    github.upload(1001, "ci-tasks-tests-3.11", zip_archive({"test-durations.json": "{}"}))
    github.upload(
        1002, "ci-tasks-tests-3.11", zip_archive({"test-durations.json": _store({"t.py::a": 2.0})})
    )
    found = ci_durations.from_github(github, tmp_path, _env("unused"))
    # runs[0] ended at 00:05 and runs[1] at 23:05, after 23:00; runs[2] (22:05) is read.
    assert found == ci_durations.Found(
        {"t.py::a": [2.0]}, "the durations CI run #1232 recorded (1 tests)"
    )
    assert github.asked[:2] == ["workflow_run 2000", "workflow_runs page 1"]


def test_only_the_newest_page_of_runs_is_looked_at(tmp_path):
    """Past RUNS_LOOKED_AT runs none is read, even one that would qualify: one page asked."""
    runs = make_runs(["success"] * (ci_durations.RUNS_LOOKED_AT + 5))
    # Every run on the first page ended after this one began; the 21st did not.
    github = _memory(runs, began=str(runs[ci_durations.RUNS_LOOKED_AT - 1]["run_started_at"]))
    found = ci_durations.from_github(github, tmp_path, _env("unused"))
    assert found.said == "no earlier completed run of this workflow"
    assert github.asked == ["workflow_run 2000", "workflow_runs page 1"]


def test_a_github_that_cannot_answer_is_a_split_by_count_saying_why(tmp_path):
    """GitHub's one-line error is the reason given; the look-up never raises."""
    github = _memory([], began="2026-11-01T00:00:00Z")
    github.down = ConfigError("GitHub API /repos/octo/app/actions/runs/2000: 401 unauthorised")
    found = ci_durations.from_github(github, tmp_path, _env("unused"))
    assert found == ci_durations.Found(
        {},
        "the last CI run's durations could not be read "
        "(GitHub API /repos/octo/app/actions/runs/2000: 401 unauthorised)",
    )


@pytest.mark.parametrize("missing", ["GITHUB_RUN_ID", "GITHUB_WORKFLOW_REF", "GITHUB_REF_NAME"])
def test_without_this_runs_workflow_id_or_branch_github_is_not_asked(tmp_path, missing):
    """A job that cannot say which run it is asks nothing and splits by count."""
    github = _memory(make_runs(["success"]), began="2026-11-02T00:00:00Z")
    env = {k: v for k, v in _env("unused").items() if k != missing}
    found = ci_durations.from_github(github, tmp_path, env)
    assert found.said == "no earlier completed run of this workflow"
    assert github.asked == []


def _profiled(values: dict[str, float], cpu_share: float) -> str:
    """A whole-suite session's store: its durations and the suite's profile."""
    document = json.loads(_store(values))
    document["profile"] = {"cpu_share": cpu_share, "start_seconds": 0.8}
    return json.dumps(document)


def test_a_session_reads_its_own_artifacts_and_its_suites_profile(tmp_path):
    """`tests-3.11` reads `ci-tasks-tests-3.11-<os>` only: 3.12's and lint's are not downloaded."""
    github = _memory(make_runs(["success"]), began="2026-11-02T00:00:00Z")
    own = github.upload(
        1000,
        "ci-tasks-tests-3.11-ubuntu-latest",
        zip_archive({"test-durations.json": _profiled({"t.py::a": 0.2, "t.py::b": 0.1}, 0.4)}),
    )
    github.upload(
        1000,
        "ci-tasks-tests-3.12-ubuntu-latest",
        zip_archive({"test-durations.json": _profiled({"t.py::c": 9.0}, 1.0)}),
    )
    github.upload(1000, "ci-tasks-lint-ubuntu-latest", zip_archive({"lint-report.json": "{}"}))
    found = ci_durations.from_github(github, tmp_path, _env("unused"), session="tests-3.11")
    assert found == ci_durations.Found(
        {"t.py::a": [0.2], "t.py::b": [0.1]},
        "the durations CI run #1234 recorded (2 tests)",
        durations.Profile(cpu_share=0.4, start_seconds=0.8),
    )
    downloads = [a for a in github.asked if a.startswith("download")]
    assert len(downloads) == 1
    assert str(own) in downloads[0]


def test_a_session_the_last_run_did_not_have_reads_every_sessions(tmp_path):
    """Renamed, or sharded last time: every session's durations say how long the suite takes."""
    github = _memory(make_runs(["success"]), began="2026-11-02T00:00:00Z")
    for k, name in enumerate(("t.py::a", "t.py::b"), start=1):
        archive = zip_archive({f"tests-shard{k}of2-3.11/test-durations.json": _store({name: 1.0})})
        github.upload(1000, f"ci-tasks-tests-shard{k}of2-3.11-ubuntu-latest", archive)
    found = ci_durations.from_github(github, tmp_path, _env("unused"), session="tests-3.11")
    assert found.store == {"t.py::a": [1.0], "t.py::b": [1.0]}
    assert found.profile is None  # a shard records none: the defaults apply


def test_a_session_does_not_take_a_longer_named_sessions_artifacts():
    """`tests-3.1` is not `tests-3.11`: a name is matched whole, up to the OS."""
    assert [
        a.name
        for a in ci_durations.session_artifacts(
            [
                Artifact(
                    1, "ci-tasks-tests-3.11-ubuntu-latest", 10, expired=False, download_url="u1"
                ),
                Artifact(
                    2, "ci-tasks-tests-3.1-ubuntu-latest", 10, expired=False, download_url="u2"
                ),
                Artifact(3, "ci-tasks-tests-3.1", 10, expired=False, download_url="u3"),
            ],
            "tests-3.1",
        )
    ] == ["ci-tasks-tests-3.1-ubuntu-latest", "ci-tasks-tests-3.1"]


CORES = usable_cores()
needs_cores = pytest.mark.skipif(CORES < 2, reason="one core: nothing to choose")


def _durations(count: int, seconds: float) -> str:
    """A whole-suite session's durations file: *count* CPU-bound tests of *seconds*."""
    return _profiled({f"tests/test_a.py::test_{n}": seconds for n in range(count)}, 1.0)


def _ci_env(api_url: str, **extra: str) -> dict[str, str]:
    """A CI job's environment (*extra* set empty: left out)."""
    env = _env(api_url, **{"GITHUB_ACTIONS": "true", **extra})
    return {k: v for k, v in env.items() if v}


def _prepare(tmp_path, env, *, posargs=(), **settings):
    """The session `tests-3.11` prepared in a fresh checkout: its plan, and what it said."""
    config = Config(root=tmp_path, retry=RetryConfig(attempts=1)).with_section(
        TestsConfig(coverage=False, **settings)
    )
    ctx = StageContext(
        "tests",
        config,
        Runner(env=env),
        list(posargs),
        Output(env={}),
        session=SimpleNamespace(name="tests-3.11"),  # type: ignore[arg-type]
    )
    return session._prepare(ctx, None)


@pytest.fixture
def github():
    """The last CI run (#1234) finished before this one (2000) began; it uploaded artifacts."""
    fake, storage = _fake()
    with serve(fake) as api, serve(storage) as blob:
        fake.base, fake.storage = api.url, other_host(blob.url)
        yield SimpleNamespace(
            api=api,
            upload=lambda name, files: fake.upload(fake.runs[0], name, zip_archive(files), storage),
        )


@needs_cores
def test_a_small_suite_runs_in_one_process_from_the_last_ci_runs_durations(
    tmp_path, github, capsys
):
    """40 tests of 5 ms last time: one process, and the line says whose durations decided."""
    github.upload(
        "ci-tasks-tests-3.11-ubuntu-latest", {"test-durations.json": _durations(40, 0.005)}
    )
    prepared = _prepare(tmp_path, _ci_env(github.api.url))
    assert prepared.plan == session.Plan()
    assert len(prepared.store) == 40
    assert prepared.profile == durations.Profile(cpu_share=1.0, start_seconds=0.8)
    out = capsys.readouterr().out
    assert "workers: one process: recorded suite time 0.2 s (40 tests, 100% CPU)" in out
    assert "; by the durations CI run #1234 recorded (40 tests)" in out
    assert TOKEN not in out
    assert not (tmp_path / ".ci-tasks" / durations.FILE).exists()  # written after the run only


@needs_cores
def test_a_long_suite_runs_in_one_process_per_core_from_the_last_ci_runs_durations(
    tmp_path, github, capsys
):
    """200 CPU-bound tests of half a second last time: one process per core."""
    github.upload(
        "ci-tasks-tests-3.11-ubuntu-latest", {"test-durations.json": _durations(200, 0.5)}
    )
    # Another Python's durations are not this session's: 3.12's tiny suite is not read.
    github.upload("ci-tasks-tests-3.12-ubuntu-latest", {"test-durations.json": _durations(3, 0.01)})
    prepared = _prepare(tmp_path, _ci_env(github.api.url))
    assert (prepared.plan.processes, prepared.plan.xdist) == (CORES, 0)
    out = capsys.readouterr().out
    assert f"workers: {CORES} pytest processes: recorded suite time 100.0 s (200 tests" in out
    assert "by the durations CI run #1234 recorded (200 tests)" in out


@needs_cores
@pytest.mark.parametrize(
    ("env", "why"),
    [
        ({"CI_TASKS_GITHUB_TOKEN": ""}, "no CI_TASKS_GITHUB_TOKEN to read the last CI run's"),
        ({"GITHUB_RUN_ID": ""}, "no earlier completed run of this workflow"),
        ({}, "CI run #1234 uploaded no recorded durations"),
    ],
)
def test_without_the_last_runs_durations_it_plans_as_today_and_says_why(
    tmp_path, github, capsys, env, why
):
    """No token, no run, no durations: one process per core, and the reason on the line."""
    github.upload("ci-tasks-tests-3.11-ubuntu-latest", {"junit.xml": "<testsuites/>"})
    prepared = _prepare(tmp_path, _ci_env(github.api.url, **env))
    assert (prepared.plan.processes, prepared.plan.xdist) == (CORES, 0)
    assert prepared.store == {}
    line = f"workers: {CORES} pytest processes: no recorded suite duration yet; {why}"
    assert line in capsys.readouterr().out


def test_an_unreachable_api_plans_as_today_without_failing_or_leaking(tmp_path, capsys):
    """GitHub down: the job goes on as it would have, the token nowhere in what it says."""
    with serve(lambda _request: (_ for _ in ()).throw(OSError)) as dead:
        url = dead.url
    prepared = _prepare(tmp_path, _ci_env(url))
    assert prepared.store == {}
    out = capsys.readouterr().out
    assert "the last CI run's durations could not be read" in out
    assert TOKEN not in out


@pytest.mark.parametrize(
    ("env", "settings", "posargs"),
    [
        ({"GITHUB_ACTIONS": ""}, {}, ()),  # on a laptop: what it recorded, or nothing
        ({}, {"workers": 1}, ()),  # a count chosen: nothing to decide
        ({}, {"workers": 3}, ()),
        ({}, {}, ("-n", "2")),  # the user's xdist decides
    ],
)
def test_nothing_is_asked_where_nothing_would_use_the_answer(
    tmp_path, github, env, settings, posargs
):
    """Locally, with a fixed count, or under the user's own -n, GitHub is never asked."""
    github.upload(
        "ci-tasks-tests-3.11-ubuntu-latest", {"test-durations.json": _durations(40, 0.005)}
    )
    prepared = _prepare(tmp_path, _ci_env(github.api.url, **env), posargs=posargs, **settings)
    assert github.api.requests == []
    assert prepared.store == {}


def test_durations_recorded_in_the_checkout_are_used_without_asking(tmp_path, github, capsys):
    """A CI job that has its own durations (a cache, a self-hosted runner) reads no artifact."""
    (tmp_path / ".ci-tasks").mkdir()
    (tmp_path / ".ci-tasks" / durations.FILE).write_text(_durations(40, 0.005))
    prepared = _prepare(tmp_path, _ci_env(github.api.url))
    assert github.api.requests == []
    assert len(prepared.store) == 40
    assert "CI run" not in capsys.readouterr().out


def test_a_workflows_own_github_token_still_reads_them(tmp_path):
    """Workflows that earlier ``init`` runs wrote give the job ``GITHUB_TOKEN``: still read."""
    fake, storage = _fake()
    with serve(fake) as api, serve(storage) as blob:
        fake.base, fake.storage = api.url, other_host(blob.url)
        fake.upload(
            fake.runs[0],
            "ci-tasks-tests-3.11",
            zip_archive({"test-durations.json": _store({"t::a": 1.0})}),
            storage,
        )
        env = {k: v for k, v in _env(api.url).items() if k != "CI_TASKS_GITHUB_TOKEN"}
        found = ci_durations.from_ci(tmp_path, {**env, "GITHUB_TOKEN": TOKEN}, POLICY)
    assert found.store == {"t::a": [1.0]}


def _downloaded(api) -> list[str]:
    """The paths of the artifact downloads the local fake GitHub was asked for."""
    return [r.path for r in api.requests if r.path.endswith("/zip")]


@needs_cores
def test_a_job_reads_the_durations_recorded_on_its_own_os(tmp_path, github, capsys):
    """On Windows, windows-latest's durations plan; ubuntu's and lint's are not downloaded."""
    github.upload(
        "ci-tasks-tests-3.11-ubuntu-latest", {"test-durations.json": _durations(200, 0.5)}
    )
    github.upload(
        "ci-tasks-tests-3.11-windows-latest", {"test-durations.json": _durations(40, 0.005)}
    )
    github.upload("ci-tasks-lint-windows-latest", {"test-durations.json": _durations(9, 1.0)})
    prepared = _prepare(tmp_path, _ci_env(github.api.url, RUNNER_OS="Windows"))
    assert len(prepared.store) == 40
    assert prepared.plan == session.Plan()  # 0.2 s recorded on Windows: one process
    out = capsys.readouterr().out
    assert "; by the durations CI run #1234 recorded (40 tests)\n" in out
    assert len(_downloaded(github.api)) == 1


@needs_cores
def test_another_oss_durations_are_read_only_when_this_ones_has_none_and_said(
    tmp_path, github, capsys
):
    """On Linux, with only macOS and Windows durations: theirs plan, and the line says so."""
    github.upload(
        "ci-tasks-tests-3.11-windows-latest", {"test-durations.json": _durations(200, 0.5)}
    )
    github.upload("ci-tasks-tests-3.11-macos-14", {"test-durations.json": _durations(200, 0.5)})
    prepared = _prepare(tmp_path, _ci_env(github.api.url, RUNNER_OS="Linux"))
    assert (prepared.plan.processes, prepared.plan.xdist) == (CORES, 0)
    out = capsys.readouterr().out
    line = "recorded (200 tests); none recorded on Linux: those of macos-14, windows-latest"
    assert line in out
    assert len(_downloaded(github.api)) == 2


def test_a_shard_reads_only_tests_sessions_artifacts_of_its_os():
    """A shard merges every tests session's on its OS; lint's and the other OS's are skipped."""
    listed = [
        Artifact(
            1, "ci-tasks-tests-shard1of2-3.11-ubuntu-24.04", 10, expired=False, download_url="1"
        ),
        Artifact(
            2, "ci-tasks-tests-shard2of2-3.11-ubuntu-latest", 10, expired=False, download_url="2"
        ),
        Artifact(
            3, "ci-tasks-tests-shard1of2-3.11-windows-2025", 10, expired=False, download_url="3"
        ),
        Artifact(4, "ci-tasks-lint-ubuntu-latest", 10, expired=False, download_url="4"),
        Artifact(5, "ci-tasks-tests-3.11-self-hosted", 10, expired=False, download_url="5"),
    ]
    chosen, note = ci_durations.choose_artifacts(listed, None, "Linux")
    assert [a.id for a in chosen] == [1, 2, 5]  # a self-hosted label may be any OS
    assert note == ""
    chosen, _ = ci_durations.choose_artifacts(listed, None, None)  # no RUNNER_OS: every OS
    assert [a.id for a in chosen] == [1, 2, 3, 5]


def test_a_run_that_uploaded_durations_alone_gives_only_those_to_download(tmp_path):
    """`durations-tests-3.11-<os>` holds the durations files only: the whole reports stay."""
    github = _memory(make_runs(["success"]), began="2026-11-02T00:00:00Z")
    reports_zip = zip_archive(
        {"test-durations.json": _store({"t.py::a": 9.0}), "tests-3.11/junit.xml": "<x/>" * 1000}
    )
    github.upload(1000, "ci-tasks-tests-3.11-ubuntu-latest", reports_zip)
    small = github.upload(
        1000,
        "durations-tests-3.11-ubuntu-latest",
        zip_archive({"test-durations.json": _store({"t.py::a": 0.3})}),
    )
    github.upload(
        1000, "durations-tests-3.12-ubuntu-latest", zip_archive({"test-durations.json": "{}"})
    )
    found = ci_durations.from_github(github, tmp_path, _env("unused"), session="tests-3.11")
    assert found.store == {"t.py::a": [0.3]}
    downloads = [a for a in github.asked if a.startswith("download")]
    assert len(downloads) == 1
    assert str(small) in downloads[0]


def test_a_shard_takes_every_tests_sessions_durations_only_artifact_of_its_os():
    """The durations-only artifacts are chosen as the whole ones were: tests', this OS's."""
    names = [
        "ci-tasks-tests-shard1of2-3.11-ubuntu-latest",
        "durations-tests-shard1of2-3.11-ubuntu-latest",
        "durations-tests-shard2of2-3.11-ubuntu-latest",
        "durations-tests-shard1of2-3.11-windows-2025",
    ]
    listed = [
        Artifact(k, name, 1, expired=False, download_url=str(k))
        for k, name in enumerate(names, start=1)
    ]
    chosen, note = ci_durations.choose_artifacts(listed, None, "Linux")
    assert ([a.id for a in chosen], note) == ([2, 3], "")
    chosen, note = ci_durations.choose_artifacts(listed, "tests-shard1of2-3.11", "Windows")
    assert ([a.id for a in chosen], note) == ([4], "")
