# /// script
# requires-python = ">=3.11"
# dependencies = [
#     "ci-tasks==0.1.0",
#     "nox==2026.10.20",
# ]
#
# [tool.uv.sources]
# ci-tasks = { path = ".", editable = true }
# ///
"""This repository's CI: ci_tasks' own sessions, exactly as an adopter's noxfile uses them.

The block above is the CI environment, locked in noxfile.py.lock (`uv run ci-tasks lock`
refreshes it); ci-tasks comes from this working tree.
"""

import nox

import ci_tasks

nox.options.default_venv_backend = "uv"
ci_tasks.register()

if __name__ == "__main__":
    ci_tasks.main()  # nox.main(), with a quicker check of the block above
