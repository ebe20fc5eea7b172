"""Which files of a project are its GitHub Actions workflows."""

from __future__ import annotations

from pathlib import Path

from ci_tasks.core.workflow_files import workflow_files


def test_the_yaml_files_of_the_workflow_folder_are_the_workflows_sorted(tmp_path: Path) -> None:
    """``*.yml`` and ``*.yaml`` files count, in name order; other files and folders do not."""
    folder = tmp_path / ".github" / "workflows"
    (folder / "nested.yml").mkdir(parents=True)
    for name in ("tests.yml", "build.yaml", "README.md", "ci.yml"):
        (folder / name).write_text("on: push\n")
    assert [p.name for p in workflow_files(tmp_path)] == ["build.yaml", "ci.yml", "tests.yml"]


def test_a_project_without_the_workflow_folder_has_no_workflows(tmp_path: Path) -> None:
    """No ``.github/workflows``: an empty list, not an error."""
    (tmp_path / ".github").mkdir()
    assert workflow_files(tmp_path) == []
