"""This repository's CI: ci_tasks' own sessions, exactly as an adopter's noxfile uses them."""

import nox

import ci_tasks

nox.options.default_venv_backend = "uv"
ci_tasks.register()

if __name__ == "__main__":
    nox.main()
