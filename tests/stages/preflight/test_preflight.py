"""preflight over real git repositories, with small stages standing in for lint/tests/security."""

from __future__ import annotations

import dataclasses
import io
import json
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ci_tasks.core.actions import Output
from ci_tasks.core.config import ReplacedStage, parse_config
from ci_tasks.core.errors import (
    CheckFailed,
    ConfigError,
    Interrupted,
    ToolMissingError,
    UsageError,
)
from ci_tasks.core.runner import Runner
from ci_tasks.core.stage import StageContext, runnable_stages
from ci_tasks.core.verdict import Status, Verdict
from ci_tasks.stages.preflight import session as pf
from tests.support.gitsupport import git_env, init_repo
from tests.support.sample import make_project


class Stages:
    """Stages that record their calls and fail when ``<name>.fail`` exists in the project."""

    def __init__(self, names: tuple[str, ...] = ("lint", "tests", "security")) -> None:
        self.calls: list[str] = []
        self.seen: dict[str, StageContext] = {}
        self.mapping: dict[str, Callable[[StageContext], Any]] = {n: self._make(n) for n in names}

    def _make(self, name: str) -> Callable[[StageContext], Any]:
        def stage(ctx: StageContext) -> None:
            self.calls.append(name)
            self.seen[name] = ctx
            if (ctx.root / f"{name}.fail").exists():
                raise CheckFailed(f"{name} found a problem")
            if (ctx.root / f"{name}.broken").exists():
                raise ToolMissingError(f"{name}'s tool is missing")

        return stage


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    files = {f"pkg/m{i}.py": f"X = {i}\n" for i in range(10)}
    files[".gitignore"] = "*.log\n"
    return init_repo(tmp_path / "repo", {**files, "pyproject.toml": "[project]\nname='x'\n"})


def run(
    root: Path,
    stages: Stages,
    *posargs: str,
    env: dict[str, str] | None = None,
    **settings: Any,
) -> tuple[list[pf.StageResult], str]:
    """One preflight run; its results and its output."""
    stream = io.StringIO()
    output = Output(stream=stream, env={})
    config = parse_config(settings, root / "pyproject.toml")
    ctx = StageContext(
        name="preflight",
        config=config,
        runner=Runner(env=git_env(env), cwd=root, output=output),
        posargs=list(posargs),
        output=output,
    )
    results = pf.run_preflight(ctx, stages.mapping)
    return results, stream.getvalue()


def verdicts(results: list[pf.StageResult]) -> dict[str, str]:
    return {r.name: r.verdict.word for r in results}


def result(name: str, status: Status, seconds: float, **kwargs: Any) -> pf.StageResult:
    """A stage's result: *kwargs* ``note`` goes to its verdict, ``cached_at`` to it."""
    cached_at = kwargs.pop("cached_at", None)
    return pf.StageResult(name, Verdict(status, seconds=seconds, **kwargs), cached_at=cached_at)


def test_unchanged_tree_is_answered_from_the_cache(repo: Path) -> None:
    """The second run with nothing changed runs no stage and says each is cached."""
    stages = Stages()
    first, _ = run(repo, stages)
    assert verdicts(first) == dict.fromkeys(["lint", "tests", "security"], "passed")
    second, out = run(repo, stages)
    assert stages.calls == ["lint", "tests", "security"]
    assert "lint: passed (cached, just now)" in out
    assert all(r.cached_at is not None for r in second)
    assert pf.overall_code(second) == 0


def test_a_change_reruns_and_failures_are_never_cached(repo: Path) -> None:
    """A failed stage runs again next time; later stages still ran (no fail-fast)."""
    stages = Stages()
    (repo / "tests.fail").write_text("")
    first, _ = run(repo, stages)
    assert verdicts(first) == {"lint": "passed", "tests": "failed", "security": "passed"}
    assert pf.overall_code(first) == 1
    second, _ = run(repo, stages)
    assert stages.calls == ["lint", "tests", "security", "tests"]
    assert verdicts(second)["tests"] == "failed"
    (repo / "tests.fail").unlink()
    (repo / "pkg" / "m1.py").write_text("X = 'edited'\n")
    run(repo, stages)
    assert stages.calls[-3:] == ["lint", "tests", "security"]


def test_fail_fast_stops_at_the_first_failure(repo: Path) -> None:
    """--fail-fast (or fail_fast = true) leaves the remaining stages not run."""
    (repo / "lint.fail").write_text("")
    stages = Stages()
    results, out = run(repo, stages, "--fail-fast")
    assert verdicts(results) == {"lint": "failed", "tests": "not run", "security": "not run"}
    assert stages.calls == ["lint"]
    results, _ = run(repo, stages, preflight={"fail_fast": True})
    assert verdicts(results)["tests"] == "not run"
    assert "preflight summary:" not in out  # the summary is preflight()'s, printed once


@pytest.mark.parametrize(
    ("posargs", "env", "settings", "why"),
    [
        (("--no-cache",), {}, {}, "--no-cache"),
        ((), {"CI_TASKS_NO_CACHE": "1"}, {}, "CI_TASKS_NO_CACHE"),
        ((), {"CI": "true"}, {}, "CI=true"),
        ((), {}, {"preflight": {"cache": False}}, "off in [tool.ci-tasks.preflight]"),
    ],
)
def test_cache_bypass(repo: Path, posargs, env, settings, why) -> None:
    """--no-cache, CI_TASKS_NO_CACHE=1, CI=true and cache = false all run every stage."""
    stages = Stages(("lint",))
    run(repo, stages)
    _, out = run(repo, stages, *posargs, env=env, **settings)
    assert stages.calls == ["lint", "lint"]
    assert why in out


def test_cache_in_ci_when_enabled(repo: Path) -> None:
    """Under CI=true, cache_in_ci = true lets the cache answer."""
    stages = Stages(("lint",))
    settings = {"preflight": {"cache_in_ci": True}}
    run(repo, stages, env={"CI": "true"}, **settings)
    run(repo, stages, env={"CI": "true"}, **settings)
    assert stages.calls == ["lint"]


def test_stage_that_changes_its_inputs_is_not_cached(repo: Path) -> None:
    """A stage that rewrites a file has not checked what it leaves behind: no cache entry."""
    stages = Stages(("lint",))

    def formatter(ctx: StageContext) -> None:
        stages.calls.append("lint")
        (ctx.root / "pkg" / "m2.py").write_text(f"X = {time.time()}\n")

    stages.mapping["lint"] = formatter
    _, out = run(repo, stages)
    assert "lint: not cached: files changed while it ran" in out
    run(repo, stages)
    assert stages.calls == ["lint", "lint"]


def test_a_stage_word_is_not_a_pass_to_cache(repo: Path) -> None:
    """A stage that passes with its own word (security's UNVERIFIED) is run again next time."""
    stages = Stages(("security",))
    calls = []

    def unverified(ctx: StageContext) -> Verdict:
        calls.append(ctx.name)
        return Verdict(Status.UNVERIFIED)

    stages.mapping["security"] = unverified
    first, _ = run(repo, stages)
    run(repo, stages)
    assert verdicts(first) == {"security": "UNVERIFIED"}
    assert calls == ["security", "security"]


def test_stage_args_reach_the_stage_and_key_the_cache(repo: Path) -> None:
    """--tests-args='...' become the tests stage's posargs, and other args mean another run."""
    stages = Stages(("tests",))
    run(repo, stages, "--tests-args=-k 'a b'")
    assert stages.seen["tests"].posargs == ["-k", "a b"]
    run(repo, stages, "--tests-args=-k 'a b'")
    run(repo, stages, "--tests-args=-x")
    assert stages.calls == ["tests", "tests"]


def test_each_stage_gets_its_name_and_timeout(repo: Path) -> None:
    """Every stage runs under its own name with its own timeout as the runner's deadline."""
    stages = Stages(("lint", "tests"))
    run(repo, stages, timeouts={"lint": 100, "tests": 5000})
    lint, tests = stages.seen["lint"], stages.seen["tests"]
    assert (lint.name, tests.name) == ("lint", "tests")
    assert lint.runner.deadline is not None
    assert tests.runner.deadline is not None
    assert 50 < lint.runner.deadline - time.monotonic() <= 100
    assert 4900 < tests.runner.deadline - time.monotonic() <= 5000


def test_could_not_run_is_exit_2(repo: Path) -> None:
    """A stage that could not run makes preflight exit 2 unless another stage failed."""
    (repo / "lint.broken").write_text("")
    stages = Stages(("lint", "tests"))
    results, _ = run(repo, stages)
    assert verdicts(results) == {"lint": "could not run", "tests": "passed"}
    assert pf.overall_code(results) == 2
    (repo / "tests.fail").write_text("")
    results, _ = run(repo, stages)
    assert pf.overall_code(results) == 1


def test_corrupt_cache_is_set_aside_and_rebuilt(repo: Path) -> None:
    """An unreadable cache is renamed aside with a warning; the run goes on and writes anew."""
    stages = Stages(("lint",))
    cache = repo / ".ci-tasks" / "preflight-cache.json"
    cache.parent.mkdir()
    cache.write_text("{ not json")
    _, out = run(repo, stages)
    assert "set aside" in out
    assert list(cache.parent.glob("preflight-cache.json.corrupt-*"))
    run(repo, stages)
    assert stages.calls == ["lint"]


def test_outside_git_the_stages_still_run(tmp_path: Path) -> None:
    """Without a git repository there is no fingerprint: a warning, and every stage runs."""
    (tmp_path / "pyproject.toml").write_text("")
    stages = Stages(("lint",))
    run(tmp_path, stages)
    _, out = run(tmp_path, stages)
    assert stages.calls == ["lint", "lint"]
    assert "cache off" in out


def test_unknown_stage_is_a_config_error(repo: Path) -> None:
    """A configured stage that does not exist is a one-line config error (exit 2)."""
    with pytest.raises(ConfigError, match=r"preflight\.stages: unknown stage 'lnt'") as info:
        run(repo, Stages(), preflight={"stages": ["lnt"]})
    assert info.value.exit_code == 2


def test_unknown_argument_is_a_usage_error(repo: Path) -> None:
    """An argument preflight does not know is refused, naming what it accepts."""
    with pytest.raises(UsageError, match="--bogus"):
        run(repo, Stages(), "--bogus")
    with pytest.raises(UsageError, match="--docs-args"):
        run(repo, Stages(), "--docs-args=x")


def test_default_stages_are_those_that_exist() -> None:
    """The default is lint, tests, security, in that order, among the stages this version has."""
    config = parse_config({}, Path("pyproject.toml"))
    assert pf.resolve_stages(config, {"tests": print, "lint": print}) == ["lint", "tests"]
    assert pf.resolve_stages(config, runnable_stages())[:2] == ["lint", "tests"]


def test_config_rejects_duplicate_and_empty_stages() -> None:
    """An empty ``stages`` or a stage listed twice is a config error naming the section."""
    with pytest.raises(
        ConfigError, match=r"\[tool.ci-tasks.preflight\]: stages lists 'lint' twice"
    ):
        parse_config({"preflight": {"stages": ["lint", "lint"]}}, Path("pyproject.toml"))
    with pytest.raises(ConfigError, match="at least one"):
        parse_config({"preflight": {"stages": []}}, Path("pyproject.toml"))


def test_summary_is_one_line_per_stage() -> None:
    """The summary names each stage, its verdict (with the cache's age) and its time."""
    now = 10_000.0
    results = [
        result("lint", Status.PASSED, 0.0, cached_at=now - 200),
        result("tests", Status.FAILED, 12.34),
        result("security", Status.NOT_RUN, 0.0),
    ]
    lines = pf.render_summary(results, now)
    assert lines[0] == "preflight summary:"
    assert lines[1].split() == ["lint", "passed", "(cached,", "3", "min", "ago)", "0.0", "s"]
    assert lines[2].split() == ["tests", "failed", "12.3", "s"]
    assert lines[3].split() == ["security", "not", "run"]
    assert len(lines) == 4


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (1, "just now"),
        (42, "42 s ago"),
        (180, "3 min ago"),
        (7300, "2 h ago"),
        (4 * 86400, "4 d ago"),
    ],
)
def test_ago(seconds: float, text: str) -> None:
    """Ages read coarsely, as people say them."""
    assert pf.ago(seconds) == text


def _age_cache(root: Path, hours: float) -> None:
    """Make every recorded pass *hours* older."""
    path = root / ".ci-tasks" / pf.CACHE_FILE
    data = json.loads(path.read_text())
    for entries in data["stages"].values():
        for entry in entries:
            entry["passed_at"] -= hours * 3600
    path.write_text(json.dumps(data))


@pytest.mark.parametrize(
    ("settings", "reran"),
    [
        ({}, ["security"]),
        ({"preflight": {"security-cache-hours": 48}}, []),
        ({"preflight": {"security-cache-hours": 0}}, ["security"]),
    ],
)
def test_a_cached_security_pass_expires(repo: Path, settings, reran) -> None:
    """A security pass answers from the cache for 24 h (configurable); lint and tests for good."""
    stages = Stages()
    run(repo, stages, **settings)
    _age_cache(repo, 25)
    results, out = run(repo, stages, **settings)
    assert stages.calls[3:] == reran
    assert verdicts(results) == dict.fromkeys(["lint", "tests", "security"], "passed")
    if reran:
        assert "security: cached pass is older than" in out


def test_an_unverified_stage_tempers_the_last_line() -> None:
    """A stage that passed with its own word makes preflight's verdict say so."""
    results = [
        result("lint", Status.PASSED, 1.0),
        result("security", Status.UNVERIFIED, 2.0, note="warning only: set CI=true to block"),
    ]
    assert pf.passed_word(results) == "passed, 1 stage unverified"
    assert pf.passed_word(results[:1]) is None
    assert pf.passed_word([*results, results[1]]) == "passed, 2 stages unverified"


def test_summary_stays_aligned_with_a_long_verdict() -> None:
    """The time column starts at the same place on every line, however long a verdict is."""
    results = [
        result("lint", Status.PASSED, 1.0),
        result("security", Status.UNVERIFIED, 2.0, note="warning only: set CI=true or unverified"),
        result("tests", Status.FAILED, 12.34),
    ]
    lines = pf.render_summary(results, 0.0)[1:]
    assert len({line.index(" s", len(line) - 3) for line in lines}) == 1
    assert len({len(line) for line in lines}) == 1


def test_an_interrupted_stage_shows_the_summary_and_stops(repo: Path) -> None:
    """Ctrl-C or SIGTERM during a stage: it says interrupted, the rest not run, and it ends."""
    stages = Stages()

    def interrupted(_ctx: StageContext) -> None:
        raise Interrupted(signal.SIGTERM)

    stages.mapping["tests"] = interrupted
    stream = io.StringIO()
    output = Output(stream=stream, env={})
    config = parse_config({}, repo / "pyproject.toml")
    runner = Runner(env=git_env(), cwd=repo, output=output)
    ctx = StageContext(name="preflight", config=config, runner=runner, output=output)
    with pytest.raises(Interrupted):
        pf.run_preflight(ctx, stages.mapping)
    assert stages.calls == ["lint"]
    summary = stream.getvalue().split("preflight summary:")[1].splitlines()[1:]
    assert [line.split()[:2] for line in summary] == [
        ["lint", "passed"],
        ["tests", "interrupted"],
        ["security", "not"],
    ]
    assert "tests: interrupted (SIGTERM)" in stream.getvalue()


PROJECT_TESTS = """\
from pathlib import Path

import nox


@nox.session(venv_backend="none")
def tests(session: nox.Session) -> None:
    with Path("tests-ran.log").open("a") as log:
        log.write(" ".join(["ran", *session.posargs]) + "\\n")
    if Path("tests.fail").exists():
        session.error("the project's tests failed")
"""


def test_the_projects_own_tests_run_in_the_stages_place_and_are_cached(repo: Path) -> None:
    """A replaced stage runs the noxfile's session through nox; its pass is cached like any."""
    noxfile = repo / "noxfile.py"
    noxfile.write_text(PROJECT_TESTS)
    subprocess.run(["git", "add", "-A"], cwd=repo, env=git_env(), check=True)
    stages = Stages()
    replaced = {"tests": ReplacedStage("tests", ("tests",), noxfile)}

    def once(*posargs: str) -> tuple[list[pf.StageResult], str]:
        stream = io.StringIO()
        output = Output(stream=stream, env={})
        config = dataclasses.replace(parse_config({}, repo / "pyproject.toml"), replaced=replaced)
        runner = Runner(env=git_env(), cwd=repo, output=output)
        ctx = StageContext("preflight", config, runner, list(posargs), output)
        return pf.run_preflight(ctx, stages.mapping), stream.getvalue()

    results, out = once("--tests-args=-k fast")
    assert verdicts(results) == {"lint": "passed", "tests": "passed", "security": "passed"}
    assert stages.calls == ["lint", "security"]  # ci_tasks' own tests stage never ran
    assert (repo / "tests-ran.log").read_text() == "ran -k fast\n"
    assert "tests: the project's own `tests` session runs in its place (as in CI)" in out
    results, out = once("--tests-args=-k fast")
    assert results[1].cached_at is not None, out
    assert (repo / "tests-ran.log").read_text() == "ran -k fast\n"


def test_a_replaced_stage_keeps_apart_from_ours_in_the_cache(repo: Path) -> None:
    """A pass of ci_tasks' tests stage never answers for the project's session (fingerprint)."""
    config = parse_config({}, repo / "pyproject.toml")
    replaced = dataclasses.replace(
        config, replaced={"tests": ReplacedStage("tests", ("tests",), repo / "noxfile.py")}
    )
    ours, theirs = pf.stage_settings(config, "tests"), pf.stage_settings(replaced, "tests")
    assert ours != theirs
    assert theirs["replaced_by"] == ["tests"]


def test_nox_preflight_fails_naming_the_projects_failing_session(tmp_path: Path) -> None:
    """Through register(): `nox -s preflight` runs the noxfile's own tests; it fails, named."""
    noxfile = PROJECT_TESTS + "\nimport ci_tasks\n\nci_tasks.register()\n"
    extra = '[tool.ci-tasks.preflight]\nstages = ["tests"]\n'
    sample = make_project(
        tmp_path, lock=False, extra=extra, files={"noxfile.py": noxfile, "tests.fail": ""}
    )
    init_repo(sample.path, {".gitignore": "*.log\n.nox/\n"})
    done = sample.nox("-s", "preflight")
    assert done.returncode == 1, done.stdout
    assert (sample.path / "tests-ran.log").read_text() == "ran\n"
    assert "tests: the project's own `tests` session runs in its place" in done.stdout
    # Said once by this run's nox, not again by the nox preflight starts for the session.
    assert done.stdout.count("the noxfile defines 'tests' itself") == 1
    assert (
        "the project's own `tests` session failed (nox exit code 1) in place of ci_tasks' "
        "tests stage" in done.stdout
    )
