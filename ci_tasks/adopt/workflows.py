"""The GitHub workflows ``ci-tasks init`` writes, rendered from a small frozen description.

The workflows stay thin: every job checks out, sets up uv (cache keyed on ``uv.lock`` and
``noxfile.py.lock``) and runs one ``uv run --locked --script noxfile.py -s <session>`` line:
nox and ci_tasks come from the noxfile's own locked environment, so CI runs exactly what
the lock says, as a laptop does.
Their security posture is fixed here, once: ``permissions: {}`` at the top and the least
grant per job, every action pinned to a full commit SHA (version in a comment),
``persist-credentials: false``, no ``${{ }}`` expansion inside ``run:`` (values reach the
shell through ``env:``), no ``pull_request_target``. Rendering is pure: text in, text out.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping

from ci_tasks.core import matrix
from ci_tasks.core.config import Config
from ci_tasks.core.reports import (
    ARTIFACT_PREFIX,
    DURATIONS_ARTIFACT_PREFIX,
    DURATIONS_FILE,
    JOBS_DIR,
)
from ci_tasks.core.stage import exported, local_stages
from ci_tasks.core.workflow_files import GENERATED, WORKFLOWS_DIR

DEPENDABOT = ".github/dependabot.yml"
NOX = "uv run --locked --script noxfile.py"
"""How a job starts nox: from the CI environment locked in ``noxfile.py.lock``."""
CACHE_KEYS = ("uv.lock", "noxfile.py.lock")
CI_NAME = "CI"
"""The CI workflow's name; the smoke test's ``workflow_run`` trigger refers to it."""
CI_FILE = "ci.yml"
"""The CI workflow's file; the lock update dispatches it on the branch it pushed."""


@dataclasses.dataclass(frozen=True)
class Pin:
    """An action pinned to a commit; the tag it was read from goes in a comment."""

    action: str
    sha: str
    version: str

    @property
    def uses(self) -> str:
        """The ``uses:`` value with its version comment."""
        return f"{self.action}@{self.sha} # {self.version}"


# Read from each action's repository: `git rev-parse <tag>^{commit}`. Dependabot's
# github-actions updates move SHA and comment together; bump these with it.
CHECKOUT = Pin("actions/checkout", "3d3c42e5aac5ba805825da76410c181273ba90b1", "v7.0.1")
SETUP_UV = Pin("astral-sh/setup-uv", "20cfd1bf945f4377ade1205e4dbc17946fc9a30d", "v10.0.1")
UPLOAD_ARTIFACT = Pin(
    "actions/upload-artifact", "bbbca2ddaa5d8feaa63e36b76fdaad77386f024f", "v7.0.0"
)
DOWNLOAD_ARTIFACT = Pin(
    "actions/download-artifact", "3e5f45b2cfb9172054b4087a40e8e0b5a5461e7c", "v8.0.1"
)
# Step conditions cannot read secrets: this one shell line tells the next step whether a
# Codecov token is set, without printing it.
CODECOV_PROBE = (
    'echo "set=$([ -n "$CODECOV_TOKEN" ] && echo true || echo false)" >> "$GITHUB_OUTPUT"'
)
CODECOV = Pin("codecov/codecov-action", "671740ac38dd9b0130fbe1cec585b89eea48d3de", "v5.5.2")


# A fresh checkout has no durations of its own: the tests jobs read the last CI run's
# artifacts, to split shards by time and to choose how many processes run the suite.
# Only the tests jobs use the token; every other session runs without one in its env.
DURATIONS_PERMISSIONS = (
    "      actions: read  # the tests read the last CI run's durations (shards, workers)\n"
)
DURATIONS_ENV = (
    "          # Only a tests session gets the token, to read those durations, under a name\n"
    "          # only ci_tasks reads: the project's pytest runs without it.\n"
    "          CI_TASKS_GITHUB_TOKEN: "
    "${{ startsWith(matrix.session, 'tests') && github.token || '' }}\n"
)


DIST_ARTIFACT = "dist"
"""The build job's distributions, as the tests jobs download them (not a report: readiness
collects only the ``ci-tasks-*`` artifacts)."""


@dataclasses.dataclass(frozen=True)
class WorkflowSpec:
    """What the workflows depend on: each session's job timeout, in minutes."""

    timeouts: tuple[tuple[str, int], ...]
    """``(session, minutes)``: the session's own timeout plus the margin, rounded up."""
    list_timeout: int = 10
    """The job that lists the sessions only installs the locked tools and asks nox."""
    readiness_branches: tuple[str, ...] = ("main", "develop")
    reads_ci_durations: bool = True
    """The tests jobs read the last CI run's durations from its artifacts (``actions: read``
    and the job's token): to split shards by time, and for ``workers = "auto"`` (the
    default), to choose how many processes run the suite. Exported by the tests stage."""

    def minutes(self, session: str) -> int:
        """The job timeout for *session* (the longest one for a session not listed)."""
        table = dict(self.timeouts)
        return table.get(session, max(table.values(), default=self.list_timeout))

    @classmethod
    def from_config(cls, config: Config, margin_minutes: int = 5) -> WorkflowSpec:
        """The description for a project's configuration.

        ``timeout-minutes`` is a backstop behind the sessions' own timeouts: a session
        that times out reports it itself, and the job is only killed if that fails.
        """
        # A stage run on a laptop only (preflight) has no job, so no job timeout.
        names = [name for name in config.sections if name not in local_stages()]
        return cls(
            timeouts=tuple(
                (name, math.ceil(config.timeout(name) / 60) + margin_minutes)
                for name in sorted(names)
            ),
            reads_ci_durations=bool(exported(config, "tests", "reads_ci_durations")),
        )


def _fill(template: str, values: Mapping[str, str | int]) -> str:
    """Replace ``<<key>>`` markers (``${{ }}`` stays literal, unlike with str.format)."""
    for key, value in values.items():
        template = template.replace(f"<<{key}>>", str(value))
    if "<<" in template:
        msg = f"unfilled marker in workflow template near {template[template.find('<<') :][:30]!r}"
        raise ValueError(msg)
    return template


_SETUP = """\
      - name: Check out
        uses: <<checkout>>
        with:
          persist-credentials: false
      - name: Set up uv
        uses: <<setup_uv>>
        with:
          enable-cache: true
          cache-dependency-glob: |
<<cache_keys>>
"""

_KEEP_REPORTS = """\
      - name: Keep the session's reports for the readiness gate
        if: ${{ !cancelled() }}
        uses: <<upload_artifact>>
        with:
          # Unique per job: the same session runs on every OS.
          name: <<artifact_prefix>>${{ matrix.session }}-${{ matrix.os }}
          path: .ci-tasks/
          include-hidden-files: true
          if-no-files-found: ignore
          retention-days: 7
"""

# The steps only a tests session takes (its durations, its coverage report), by condition.
_TESTS_SESSION_STEPS = """\
      - name: Keep the recorded test durations for the next run's split
        # Their own small artifact: the next run's tests jobs download only these.
        if: ${{ !cancelled() && startsWith(matrix.session, 'tests') }}
        uses: <<upload_artifact>>
        with:
          name: <<durations_prefix>>${{ matrix.session }}-${{ matrix.os }}
          path: |
            .ci-tasks/<<durations_file>>
            .ci-tasks/*/<<durations_file>>
          include-hidden-files: true
          if-no-files-found: ignore
          retention-days: 7
      - name: Keep the coverage report
        if: ${{ !cancelled() && startsWith(matrix.session, 'tests') }}
        uses: <<upload_artifact>>
        with:
          name: coverage-${{ matrix.session }}-${{ matrix.os }}
          path: .ci-tasks/${{ matrix.session }}/coverage.xml
          if-no-files-found: ignore
          retention-days: 7
      - name: Is a Codecov token set?
        id: codecov
        if: ${{ !cancelled() && startsWith(matrix.session, 'tests') }}
        env:
          CODECOV_TOKEN: ${{ secrets.CODECOV_TOKEN }}
        run: <<codecov_probe>>
      - name: Upload coverage to Codecov
        # Only with a token: without one the upload would fail or go out anonymously. Only
        # with a report: a noxfile's own tests session, in place of ci_tasks', writes none.
        if: >-
          ${{ !cancelled() && steps.codecov.outputs.set == 'true'
          && hashFiles(format('.ci-tasks/{0}/coverage.xml', matrix.session)) != '' }}
        uses: <<codecov>>
        with:
          files: .ci-tasks/${{ matrix.session }}/coverage.xml
          name: ${{ matrix.session }}-${{ matrix.os }}
          token: ${{ secrets.CODECOV_TOKEN }}
          fail_ci_if_error: true
"""

# Each matrix job's fan-out over one list of the `sessions` job's outputs.
_FAN_OUT = """\
    timeout-minutes: ${{ matrix.timeout }}
    continue-on-error: ${{ matrix.allow_failure }}
    strategy:
      fail-fast: false
      matrix:
        include: ${{ fromJSON(needs.sessions.outputs.<<list>>) }}
    steps:
"""


_HEADER = f"""\
{GENERATED}. Every job runs one ci_tasks nox session, as it runs locally;
# behaviour lives in [tool.ci-tasks] in pyproject.toml, not here.
"""

_CI = (
    _HEADER
    + """\
name: <<ci_name>>

on:
  push:
  pull_request:
  # The CI lock's update dispatches it on its branch: GitHub starts no workflow for a
  # push or pull request made with GITHUB_TOKEN.
  workflow_dispatch:

permissions: {}

concurrency:
  group: ${{ github.workflow }}-${{ github.ref }}
  cancel-in-progress: true

defaults:
  run:
    shell: bash

jobs:
  sessions:
    # The sessions tagged `ci` make the matrix: adding a session never means editing YAML.
    name: List sessions
    runs-on: ubuntu-latest
    permissions:
      contents: read
    timeout-minutes: <<list_timeout>>
    outputs:
      matrix: ${{ steps.list.outputs.matrix }}
      build: ${{ steps.list.outputs.build }}
      tests: ${{ steps.list.outputs.tests }}
    steps:
<<setup>>\
      - name: nox -l --json -t ci
        id: list
        env:
          # Job timeouts in minutes: each session's own timeout plus a margin.
          MINUTES: '<<minutes>>'
        # One job per session and `os:` tag ([tool.ci-tasks] os, or its stage's own), but
        # for an `exclude:<python>@<os>` tag ([tool.ci-tasks.tests] exclude); an
        # `allow-failure:<python>` tag ([tool.ci-tasks] python: a -dev pre-release) lets
        # that job fail. Build once, test the wheel: the `<<dist_tag>><folder>` session
        # (build) runs in the build job, whose first job uploads that folder; the
        # `<<wheel_tag>>` sessions in the tests jobs.
        run: |
          <<nox>> -l --json -t ci \\
            | jq -c --argjson minutes "$MINUTES" '[.[] | . as $s
                | ([$s.tags[] | select(startswith("<<os_tag>>")) | ltrimstr("<<os_tag>>")]
                   | if . == [] then ["<<default_os>>"] else . end)[]
                | select(. as $os
                         | any($s.tags[]; . == "<<exclude_tag>>\\($s.python)@\\($os)") | not)
                | {session: $s.session, os: .,
                   timeout: ($minutes[$s.name] // <<default_minutes>>),
                   allow_failure: any($s.tags[]; . == "<<allow_tag>>\\($s.python)"),
                   dist: ([$s.tags[] | select(startswith("<<dist_tag>>"))
                           | ltrimstr("<<dist_tag>>")] | first),
                   wheel: any($s.tags[]; . == "<<wheel_tag>>")}]
                | map(select(.dist)) as $build
                | {build: ($build | to_entries | map(.value + {upload: (.key == 0)})),
                   tests: (if $build == [] then [] else map(select(.wheel) | del(.dist)) end),
                   other: map(select(.dist == null and (.wheel and $build != [] | not))
                              | del(.dist, .wheel))}' \\
            > matrix.json
          echo "matrix=$(jq -c .other matrix.json)" >> "$GITHUB_OUTPUT"
          echo "build=$(jq -c .build matrix.json)" >> "$GITHUB_OUTPUT"
          echo "tests=$(jq -c .tests matrix.json)" >> "$GITHUB_OUTPUT"

  build:
    # Build once: every tests job tests the wheel the first of these jobs uploads.
    name: ${{ matrix.session }} (${{ matrix.os }})
    needs: sessions
    if: ${{ needs.sessions.outputs.build != '[]' }}
    runs-on: ${{ matrix.os }}
    permissions:
      contents: read
<<fan_out_build>>\
<<setup>>\
      - name: nox -s ${{ matrix.session }}
        env:
          SESSION: ${{ matrix.session }}
        run: <<nox>> -s "$SESSION"
<<keep_reports>>\
      - name: Keep the distributions for the tests jobs
        # Published even when a check failed: the tests still say what the wheel lacks.
        if: ${{ !cancelled() && matrix.upload }}
        uses: <<upload_artifact>>
        with:
          name: <<dist_artifact>>
          path: ${{ matrix.dist }}/
          if-no-files-found: warn
          retention-days: 7

  tests:
    # Test the wheel that ships: installed from the build job's artifact, not the tree.
    name: ${{ matrix.session }} (${{ matrix.os }})
    needs: [sessions, build]
    if: >-
      ${{ !cancelled() && needs.sessions.result == 'success'
      && needs.sessions.outputs.tests != '[]' }}
    runs-on: ${{ matrix.os }}
    permissions:
      contents: read
<<durations_permissions>>\
<<fan_out_tests>>\
<<setup>>\
      - name: Take the build job's distributions
        uses: <<download_artifact>>
        with:
          name: <<dist_artifact>>
          path: <<wheel_dir>>/
      - name: nox -s ${{ matrix.session }} -- --wheel <<wheel_dir>>/
        env:
          SESSION: ${{ matrix.session }}
<<durations_env>>\
        run: <<nox>> -s "$SESSION" -- --wheel <<wheel_dir>>/
<<keep_reports>>\
<<tests_session_steps>>\

  session:
    name: ${{ matrix.session }} (${{ matrix.os }})
    needs: sessions
    if: ${{ needs.sessions.outputs.matrix != '[]' }}
    runs-on: ${{ matrix.os }}
    permissions:
      contents: read
<<durations_permissions>>\
<<fan_out_matrix>>\
<<setup>>\
      - name: nox -s ${{ matrix.session }}
        env:
          SESSION: ${{ matrix.session }}
<<durations_env>>\
        run: <<nox>> -s "$SESSION"
<<keep_reports>>\
<<tests_session_steps>>\

  readiness:
    name: Readiness gate
    needs: [sessions, build, tests, session]
    if: ${{ !cancelled() }}
    runs-on: ubuntu-latest
    permissions:
      actions: read  # the CI pass rate comes from the workflow runs API
      contents: read
      pull-requests: write  # the one sticky readiness comment on a pull request
    timeout-minutes: <<readiness_timeout>>
    steps:
<<setup>>\
      - name: Collect the sessions' reports, one folder per job
        uses: <<download_artifact>>
        with:
          pattern: <<artifact_prefix>>*
          path: <<jobs_dir>>/
      - name: nox -s readiness -- --check-only
        env:
          GITHUB_TOKEN: ${{ github.token }}
          PR_COMMENT: ${{ github.event_name == 'pull_request' && '--pr-comment' || '' }}
        run: <<nox>> -s readiness -- --check-only ${PR_COMMENT}
"""
)

_UPDATE_READINESS = (
    _HEADER
    + """\
name: Update readiness

on:
  push:
    branches: [<<branches>>]
  schedule:
    - cron: "0 9 * * *"
  workflow_dispatch:

permissions: {}

# Two runs committing the checklist at once would race; the later one waits.
concurrency:
  group: ${{ github.workflow }}-${{ github.ref }}
  cancel-in-progress: false

jobs:
  readiness:
    name: Update the readiness checklist
    runs-on: ubuntu-latest
    permissions:
      # The CI pass rate, and the reports CI uploaded as artifacts (a fresh checkout has none).
      actions: read
      contents: write  # --commit commits the checklist
      pull-requests: read  # how long the CI lock's update pull request has been open
    timeout-minutes: <<readiness_timeout>>
    steps:
<<setup>>\
      - name: nox -s readiness -- --commit --push --notify
        env:
          GITHUB_TOKEN: ${{ github.token }}
          SLACK_WEBHOOK_URL: ${{ secrets.SLACK_WEBHOOK_URL }}
        run: <<nox>> -s readiness -- --commit --push --notify
"""
)

_STAGING_SMOKE = (
    _HEADER
    + """\
name: Staging smoke test

on:
  # Only CI's own completion triggers this, and the job runs only for a successful push to
  # the default branch; the code checked out is the default branch's, never a fork's.
  workflow_run:  # zizmor: ignore[dangerous-triggers]
    workflows: [<<ci_name>>]
    types: [completed]
  schedule:
    - cron: "0 */4 * * *"
  workflow_dispatch:

permissions: {}

concurrency:
  group: ${{ github.workflow }}
  cancel-in-progress: true

jobs:
  smoke:
    name: Smoke test staging
    if: >-
      github.event_name != 'workflow_run'
      || (github.event.workflow_run.conclusion == 'success'
      && github.event.workflow_run.event == 'push'
      && github.event.workflow_run.head_branch == github.event.repository.default_branch)
    runs-on: ubuntu-latest
    permissions:
      contents: read
    timeout-minutes: <<smoke_timeout>>
    steps:
<<setup>>\
      - name: nox -s smoke -- --notify
        env:
          STAGING_URL: ${{ secrets.STAGING_URL }}
          SLACK_WEBHOOK_URL: ${{ secrets.SLACK_WEBHOOK_URL }}
        run: <<nox>> -s smoke -- --notify
"""
)

LOCK_UPDATE = (
    "uv sync --quiet --locked --script noxfile.py\n"
    '"$(uv python find --script noxfile.py)" -m ci_tasks.cli lock --upgrade --pull-request\n'
)
"""The update job's one step: ci_tasks from the locked CI environment, upgrading its lock."""
LOCK_UPDATE_MINUTES = 15

_UPDATE_CI_LOCK = (
    _HEADER
    + """\
name: Update CI lock

# Dependabot does not update script locks: this moves noxfile.py.lock (nox, ci-tasks and
# the tools it runs) weekly, as one pull request on the ci-tasks/update-ci-lock branch.
on:
  schedule:
    - cron: "0 6 * * 1"
  workflow_dispatch:

permissions: {}

# One update at a time: a second run waits instead of racing the first one's push.
concurrency:
  group: ${{ github.workflow }}
  cancel-in-progress: false

jobs:
  update:
    name: Update noxfile.py.lock
    runs-on: ubuntu-latest
    permissions:
      actions: write  # dispatch ci.yml on the branch: GITHUB_TOKEN's push starts none
      contents: write  # push the new lock to the ci-tasks/update-ci-lock branch
      pull-requests: write  # open, or update in place, its one pull request
    timeout-minutes: <<lock_minutes>>
    steps:
<<setup>>\
      - name: ci-tasks lock --upgrade --pull-request
        env:
          # The push reads it from the environment (never argv, never .git/config).
          GITHUB_TOKEN: ${{ github.token }}
        run: |
<<lock_update>>
"""
)

_DEPENDABOT = f"""\
{GENERATED}: pinned actions and locked dependencies stay current.
# The cooldown lets a release age a week before it is proposed.
version: 2
updates:
  - package-ecosystem: github-actions
    directory: /
    schedule:
      interval: weekly
    cooldown:
      default-days: 7
  - package-ecosystem: uv
    directory: /
    schedule:
      interval: weekly
    cooldown:
      default-days: 7
"""


def _values(spec: WorkflowSpec) -> dict[str, str | int]:
    keys = "\n".join(f"            {key}" for key in CACHE_KEYS)
    setup = _fill(
        _SETUP, {"checkout": CHECKOUT.uses, "setup_uv": SETUP_UV.uses, "cache_keys": keys}
    )
    steps = {
        "upload_artifact": UPLOAD_ARTIFACT.uses,
        "artifact_prefix": ARTIFACT_PREFIX,
        "durations_prefix": DURATIONS_ARTIFACT_PREFIX,
        "durations_file": DURATIONS_FILE,
        "codecov": CODECOV.uses,
        "codecov_probe": CODECOV_PROBE,
    }
    return {
        "setup": setup,
        "keep_reports": _fill(_KEEP_REPORTS, steps),
        "tests_session_steps": _fill(_TESTS_SESSION_STEPS, steps),
        **{
            f"fan_out_{out}": _fill(_FAN_OUT, {"list": out}) for out in ("build", "tests", "matrix")
        },
        "dist_tag": matrix.DIST_TAG,
        "wheel_tag": matrix.WHEEL_TAG,
        "wheel_dir": matrix.WHEEL_DIR,
        "dist_artifact": DIST_ARTIFACT,
        "ci_name": CI_NAME,
        "nox": NOX,
        **steps,
        "download_artifact": DOWNLOAD_ARTIFACT.uses,
        "jobs_dir": JOBS_DIR,
        "os_tag": matrix.OS_TAG,
        "allow_tag": matrix.ALLOW_FAILURE_TAG,
        "exclude_tag": matrix.EXCLUDE_TAG,
        "default_os": matrix.DEFAULT_OS[0],
        "list_timeout": spec.list_timeout,
        "minutes": json.dumps(dict(spec.timeouts), separators=(",", ":")),
        "default_minutes": spec.minutes(""),
        "readiness_timeout": spec.minutes("readiness"),
        "smoke_timeout": spec.minutes("smoke"),
        "branches": ", ".join(spec.readiness_branches),
        "lock_minutes": LOCK_UPDATE_MINUTES,
        "lock_update": "".join(f"          {line}\n" for line in LOCK_UPDATE.splitlines()).rstrip(
            "\n"
        ),
        "durations_permissions": DURATIONS_PERMISSIONS if spec.reads_ci_durations else "",
        "durations_env": DURATIONS_ENV if spec.reads_ci_durations else "",
    }


def render_ci(spec: WorkflowSpec) -> str:
    """``ci.yml``: the session matrix and the readiness gate."""
    return _fill(_CI, _values(spec))


def render_update_readiness(spec: WorkflowSpec) -> str:
    """``update-readiness.yml``: the checklist committed daily and on pushes."""
    return _fill(_UPDATE_READINESS, _values(spec))


def render_staging_smoke(spec: WorkflowSpec) -> str:
    """``staging-smoke-test.yml``: smoke tests after CI on the default branch, and every 4 h."""
    return _fill(_STAGING_SMOKE, _values(spec))


def render_update_ci_lock(spec: WorkflowSpec) -> str:
    """``update-ci-lock.yml``: the CI environment's lock upgraded weekly, as one pull request."""
    return _fill(_UPDATE_CI_LOCK, _values(spec))


def render_dependabot() -> str:
    """``dependabot.yml``: github-actions and uv updates."""
    return _DEPENDABOT


def render_all(spec: WorkflowSpec) -> dict[str, str]:
    """Every file ``init`` writes under ``.github/``, by path relative to the project."""
    return {
        f"{WORKFLOWS_DIR}/{CI_FILE}": render_ci(spec),
        f"{WORKFLOWS_DIR}/update-readiness.yml": render_update_readiness(spec),
        f"{WORKFLOWS_DIR}/staging-smoke-test.yml": render_staging_smoke(spec),
        f"{WORKFLOWS_DIR}/update-ci-lock.yml": render_update_ci_lock(spec),
        DEPENDABOT: render_dependabot(),
    }
