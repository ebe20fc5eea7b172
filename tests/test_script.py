"""``ci_tasks.main()``: nox started for a noxfile run as a script, its block judged here."""

from __future__ import annotations

import importlib.metadata
import platform
import subprocess
import sys
from pathlib import Path

import pytest

from ci_tasks.script import block_satisfied, nox_argv

NOX = importlib.metadata.version("nox")
HERE = platform.python_version()


@pytest.mark.parametrize(
    ("block", "met"),
    [
        ({"dependencies": [f"nox=={NOX}", "pytest>=7"], "requires-python": ">=3.11"}, True),
        ({"dependencies": [f"Nox=={NOX}"]}, True),  # names are normalised; no Python floor
        ({"dependencies": ["nox<1"]}, False),  # installed, at another version
        ({"dependencies": ["nox", "no-such-package-here"]}, False),
        ({"dependencies": ["nox"], "requires-python": ">=4"}, False),
        ({"dependencies": ["nox", "no-such-package-here; python_version < '3'"]}, True),
        ({"dependencies": ["nox @ https://example.invalid/nox.whl"]}, False),  # by URL
        ({"dependencies": ["nox ==="]}, False),  # not a requirement
        ({"dependencies": ["nox"], "requires-python": "3.x"}, False),  # not a specifier
        ({"dependencies": "nox"}, False),
    ],
)
def test_a_block_is_met_when_its_own_requirements_and_python_are(block, met):
    """The block's roots, with markers, against what is installed in this interpreter."""
    assert block_satisfied(block) is met


def _script(folder: Path, dependencies: list[str]) -> Path:
    listed = "".join(f'#     "{d}",\n' for d in dependencies)
    script = folder / "noxfile.py"
    script.write_text(
        f'# /// script\n# requires-python = ">=3.11"\n# dependencies = [\n{listed}# ]\n# ///\n'
        "import nox\n",
        encoding="utf-8",
    )
    return script


def test_nox_skips_its_walk_of_a_block_met_here_and_checks_any_other(tmp_path):
    """Met here: ``--script-mode none`` first; not met, or no block: nox's own check."""
    met = _script(tmp_path, [f"nox=={NOX}"])
    assert nox_argv(["-s", "tests"], met) == ["--script-mode", "none", "-s", "tests"]
    (tmp_path / "other").mkdir()
    unmet = _script(tmp_path / "other", ["nox<1"])
    assert nox_argv(["-s", "tests"], unmet) == ["-s", "tests"]  # nox checks, and makes an env
    assert nox_argv(["-l"], tmp_path / "missing.py") == ["-l"]
    plain = tmp_path / "plain.py"
    plain.write_text("import nox\n", encoding="utf-8")
    assert nox_argv(["-l"], plain) == ["-l"]  # no block: nox has nothing to check


@pytest.mark.parametrize(
    "argv",
    [
        ["--script-mode", "fresh", "-s", "tests"],
        ["--script-mode=reuse"],
        ["-f", "other.py", "-l"],
        ["--noxfile=other.py"],
    ],
)
def test_the_users_own_noxfile_or_script_mode_stands(tmp_path, argv):
    """``-f`` names another file (nox checks that one); a script mode is the user's choice."""
    assert nox_argv(argv, _script(tmp_path, [f"nox=={NOX}"])) == argv


def test_a_flag_after_the_posargs_separator_is_the_sessions(tmp_path):
    """Past ``--`` the arguments are the session's, not nox's."""
    argv = ["-s", "tests", "--", "--script-mode", "fresh"]
    assert nox_argv(argv, _script(tmp_path, [f"nox=={NOX}"]))[:2] == ["--script-mode", "none"]


def test_a_noxfile_run_as_a_script_starts_nox_with_its_walk_skipped(tmp_path):
    """A real ``python noxfile.py``: nox loads the file again and sees the argv it got."""
    script = _script(tmp_path, [f"nox=={NOX}"])
    script.write_text(
        script.read_text(encoding="utf-8")
        + "import sys\nimport ci_tasks\n\n\n@nox.session(venv_backend='none')\n"
        "def argv(session):\n    print('ARGV', sys.argv[1:])\n\n\n"
        "if __name__ == '__main__':\n    ci_tasks.main()\n",
        encoding="utf-8",
    )
    run = subprocess.run(
        [sys.executable, str(script), "-s", "argv"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert "ARGV ['--script-mode', 'none', '-s', 'argv']" in run.stdout
