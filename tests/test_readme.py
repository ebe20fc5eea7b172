"""The README stays true: its configuration examples load, its commands exist."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ci_tasks import load_config

README = (Path(__file__).parent.parent / "README.md").read_text()
TOML_BLOCKS = re.findall(r"```toml\n(.*?)```", README, re.DOTALL)


def test_readme_has_toml_examples():
    """The README shows configuration examples."""
    assert len(TOML_BLOCKS) >= 4


@pytest.mark.parametrize("block", TOML_BLOCKS)
def test_every_readme_config_example_is_valid(tmp_path, block):
    """Each [tool.ci-tasks] example in the README loads without a configuration error."""
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n\n' + block)
    load_config(tmp_path)


def test_readme_names_the_two_commands():
    """The README's quick start runs the main job and the tests as .ci/run does."""
    assert "uv run nox -s preflight" in README
    assert "uv run pytest" in README
    assert " run pytest" in (Path(__file__).parent.parent / ".ci" / "run").read_text()
