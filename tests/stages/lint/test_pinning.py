"""The pinning policy as pure checks: dependency groups, workflow actions, pip installs."""

from __future__ import annotations

import textwrap

import pytest

from ci_tasks.core.errors import ConfigError
from ci_tasks.stages.lint import pinning

SHA = "0123456789abcdef0123456789abcdef01234567"

PYPROJECT = """\
[project]
name = "x"

[dependency-groups]
dev = [
    "pytest==9.2.0",
    "ruff>=0.5",
    "mypy",
    "bandit[toml]==1.9.4",
    "black==24.*",
    "tox @ https://example.invalid/tox.tar.gz",
    "exact===1.0",
    { include-group = "docs" },
]
docs = ["sphinx>=7"]
"""


def test_only_exact_pins_pass_in_checked_groups():
    """Entries without `==` are findings with their line; other groups are not checked."""
    findings = pinning.check_dependency_groups(PYPROJECT, groups=("dev",))
    assert [(f.rule, f.line) for f in findings] == [
        ("unpinned-dev-tool", 7),
        ("unpinned-dev-tool", 8),
        ("unpinned-dev-tool", 10),
        ("unpinned-dev-tool", 11),
    ]
    assert "'ruff>=0.5' is not pinned" in findings[0].message


def test_star_checks_every_group():
    """`exact_groups = ["*"]` checks every dependency group."""
    findings = pinning.check_dependency_groups(PYPROJECT, groups=("*",))
    assert [f.line for f in findings][-1] == 15


@pytest.mark.parametrize(
    ("uses", "problem"),
    [
        (f"actions/checkout@{SHA}", False),
        (f"github/codeql-action/init@{SHA}", False),
        ("./.github/actions/setup", False),
        ("docker://alpine@sha256:" + "a" * 64, False),
        ("actions/checkout@v4", True),
        ("actions/checkout@main", True),
        ("actions/checkout", True),
        (f"actions/checkout@{SHA[:12]}", True),
        ("docker://alpine:3.20", True),
    ],
)
def test_uses_must_name_a_commit_sha(uses, problem):
    """Only a 40-hex SHA, a local action or an image digest pins an action."""
    text = f"jobs:\n  a:\n    steps:\n      - uses: {uses}\n"
    findings = pinning.check_workflow(text, "ci.yml")
    assert [(f.rule, f.line) for f in findings] == ([("unpinned-action", 4)] if problem else [])


def test_pip_install_needs_require_hashes():
    """Each unhashed `pip install` in a run: block is found on its own line."""
    text = textwrap.dedent("""\
        jobs:
          a:
            steps:
              - run: pip install ruff
              - run: |
                  echo start
                  python -m pip install \\
                    -r requirements.txt --require-hashes
                  pip3 install build
                  uv pip install --require-hashes -r req.txt
              - name: not a command
                env:
                  NOTE: pip install is only text here
        """)
    findings = pinning.check_workflow(text, "ci.yml")
    assert [(f.rule, f.line) for f in findings] == [
        ("unhashed-pip-install", 4),
        ("unhashed-pip-install", 9),
    ]
    assert "pip3 install build" in findings[1].message


def test_invalid_workflow_is_a_config_error_naming_the_file():
    """A workflow that is not YAML is bad input: one line naming the file and line."""
    with pytest.raises(ConfigError, match=r"^ci\.yml:\d+: not valid YAML"):
        pinning.check_workflow("jobs:\n  a: [unclosed\n", "ci.yml")


def test_check_reads_pyproject_and_every_workflow(tmp_path):
    """check(root) covers pyproject.toml and .yml/.yaml workflows, with relative paths."""
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    workflows = tmp_path / ".github" / "workflows"
    workflows.mkdir(parents=True)
    (workflows / "a.yml").write_text("jobs:\n  a:\n    steps:\n      - uses: x/y@v1\n")
    (workflows / "b.yaml").write_text("jobs:\n  b:\n    steps:\n      - run: pip install z\n")
    (workflows / "notes.txt").write_text("uses: x/y@v1\n")
    files = {(f.rule, f.file) for f in pinning.check(tmp_path)}
    assert files == {
        ("unpinned-dev-tool", "pyproject.toml"),
        ("unpinned-action", ".github/workflows/a.yml"),
        ("unhashed-pip-install", ".github/workflows/b.yaml"),
    }


def test_project_without_workflows_or_groups_is_clean(tmp_path):
    """Nothing to check is no finding (and no error)."""
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n')
    assert pinning.check(tmp_path) == []


@pytest.mark.parametrize(
    ("entry", "pinned"),
    [
        ("ci-tasks @ file:///work/ci_tasks", True),
        ("tool @ git+https://github.com/o/tool@" + "a" * 40, True),
        ("tool @ git+https://github.com/o/tool@main", False),
        ("tool @ git+https://github.com/o/tool", False),
        ("tool @ https://example.org/tool-1.0.tar.gz#sha256=" + "b" * 64, True),
        ("tool @ https://example.org/tool-1.0.tar.gz", False),
    ],
)
def test_direct_references_pinned_only_when_exact(entry, pinned):
    """A path, a VCS URL at a full SHA or a hashed archive is pinned; a branch or bare URL not."""
    text = f'[dependency-groups]\ndev = ["{entry}"]\n'
    assert (pinning.check_dependency_groups(text) == []) is pinned


GROUPS = """\
[dependency-groups]
dev = ["ruff>=0.5", "tox>=4"]
docs = ["sphinx"]
"""


def test_a_lock_pins_the_groups(tmp_path):
    """With uv.lock, lower bounds in dependency groups are fine: the lock pins them."""
    (tmp_path / "pyproject.toml").write_text(GROUPS)
    (tmp_path / "uv.lock").write_text("version = 1\n")
    assert pinning.check(tmp_path) == []


def test_exact_groups_are_opt_in(tmp_path):
    """`exact-groups` asks for `==` in pyproject for the groups it names, lock or not."""
    (tmp_path / "pyproject.toml").write_text(GROUPS)
    (tmp_path / "uv.lock").write_text("version = 1\n")
    found = [(f.line, f.message) for f in pinning.check(tmp_path, exact_groups=("dev",))]
    assert found == [
        (2, "dependency group 'dev': 'ruff>=0.5' is not pinned with '=='"),
        (2, "dependency group 'dev': 'tox>=4' is not pinned with '=='"),
    ]


@pytest.mark.parametrize(
    ("lock", "problem", "expected"),
    [
        (False, None, "there is no uv.lock"),
        (True, "uv.lock is not committed", "uv.lock is not committed"),
    ],
)
def test_without_a_lock_that_pins_every_group_needs_exact_pins(tmp_path, lock, problem, expected):
    """No uv.lock, or one not committed: every group entry without `==` is a finding, saying why."""
    (tmp_path / "pyproject.toml").write_text(GROUPS)
    if lock:
        (tmp_path / "uv.lock").write_text("version = 1\n")
    findings = pinning.check(tmp_path, lock_problem=problem)
    assert {f.message.split("'")[3] for f in findings} == {"ruff>=0.5", "tox>=4", "sphinx"}
    assert all(expected in f.message and f.rule == "unpinned-dev-tool" for f in findings)
