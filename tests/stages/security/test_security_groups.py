"""Which dependency groups the security stage audits."""

from __future__ import annotations

from pathlib import Path

from ci_tasks.core.config import load_config
from ci_tasks.core.runner import Runner
from ci_tasks.core.stage import StageContext
from ci_tasks.stages.security.session import audited_groups

PYPROJECT = """\
[project]
name = "sample"
version = "0"

[dependency-groups]
tests = ["pytest"]
typing = ["mypy"]
pre-commit = ["pre-commit"]
docs = ["sphinx"]

[tool.uv]
default-groups = ["typing", "pre-commit"]
"""


def ctx_for(root: Path, table: str = "") -> StageContext:
    (root / "pyproject.toml").write_text(PYPROJECT + table)
    return StageContext(name="security", config=load_config(root), runner=Runner(cwd=root))


def test_audits_test_groups_and_uv_defaults(tmp_path: Path) -> None:
    """The tests sync only their group, yet the groups `uv sync` installs are audited too."""
    ctx = ctx_for(tmp_path)
    assert ctx.config.dependency_groups == ("tests",)
    assert audited_groups(ctx) == ("tests", "typing", "pre-commit")


def test_configured_dependency_groups_come_first(tmp_path: Path) -> None:
    """Groups the table names are audited, then uv's defaults, each once."""
    ctx = ctx_for(tmp_path, '\n[tool.ci-tasks]\ndependency-groups = ["docs", "typing"]\n')
    assert audited_groups(ctx) == ("docs", "typing", "pre-commit")
