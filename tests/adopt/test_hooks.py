"""The pre-push hook in real git repositories, pushing to a real local bare remote."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ci_tasks.adopt import hooks, scriptenv
from ci_tasks.core.actions import Output
from ci_tasks.core.errors import UsageError
from tests.support.gitsupport import bare_remote, git, git_env, init_repo, push, remote_ref
from tests.support.sample import LINT_TOOLS, TEST_TOOLS, make_project

REPO_ROOT = Path(__file__).resolve().parents[2]

# The configured command: records its run (with the working directory) and fails while
# the project holds a file named FAIL. Cheap, so most tests need no nox.
CHECK = """\
import pathlib, sys
log = pathlib.Path(sys.argv[1])
with log.open("a") as fh:
    fh.write(f"check {pathlib.Path.cwd()}\\n")
sys.exit(1 if pathlib.Path("FAIL").exists() else 0)
"""

LEGACY = """\
#!/bin/sh
echo "legacy $*" >> "{log}"
cat > "{stdin}"
exit {code}
"""


def quiet() -> Output:
    return Output(stream=open(os.devnull, "w"), env={})  # noqa: PTH123 - closed at exit


@pytest.fixture
def project(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A repository with a cheap hook command, its bare remote, and the command's log."""
    log = tmp_path / "runs.log"
    log.touch()
    root = init_repo(
        tmp_path / "repo",
        {
            "pyproject.toml": (
                "[project]\nname = 'x'\n\n[tool.ci-tasks.hooks]\n"
                f"command = 'python check.py {log}'\n"
            ),
            "check.py": CHECK,
        },
    )
    remote = bare_remote(tmp_path / "remote.git", root)
    return root, remote, log


def runs(log: Path) -> list[str]:
    return log.read_text().splitlines()


def commit(root: Path, name: str, text: str = "x\n") -> str:
    (root / name).write_text(text)
    git(root, "add", "-A")
    git(root, "commit", "-qm", f"add {name}")
    return git(root, "rev-parse", "HEAD").strip()


def test_failing_check_refuses_the_push(project) -> None:
    """The command fails: the push is refused and the remote's ref does not move."""
    root, remote, log = project
    hooks.install(root, output=quiet())
    commit(root, "FAIL")
    done = push(root, "origin", "main")
    assert done.returncode != 0
    assert "push refused" in done.stdout
    assert remote_ref(remote) is None
    assert len(runs(log)) == 1
    git(root, "rm", "-q", "FAIL")
    git(root, "commit", "-qm", "fix")
    done = push(root, "origin", "main")
    assert done.returncode == 0, done.stdout
    assert remote_ref(remote) == git(root, "rev-parse", "HEAD").strip()
    assert runs(log) == [f"check {root}"] * 2


def test_deletion_push_runs_nothing(project) -> None:
    """A push that only deletes a branch runs no checks."""
    root, remote, log = project
    hooks.install(root, output=quiet())
    assert push(root, "origin", "main", "main:feature").returncode == 0
    before = runs(log)
    done = push(root, "origin", "--delete", "feature")
    assert done.returncode == 0, done.stdout
    assert "only deletes refs: nothing to check" in done.stdout
    assert runs(log) == before
    assert remote_ref(remote, "refs/heads/feature") is None


def test_skip_variable_skips_with_a_message(project) -> None:
    """SKIP_CI_TASKS=1 skips the checks, says so, and the push goes through."""
    root, remote, log = project
    hooks.install(root, output=quiet())
    commit(root, "FAIL")
    done = push(root, "origin", "main", env={"SKIP_CI_TASKS": "1"})
    assert done.returncode == 0, done.stdout
    assert "SKIP_CI_TASKS is set: pre-push checks skipped" in done.stdout
    assert runs(log) == []
    assert remote_ref(remote) is not None


def test_existing_hook_is_chained_first_and_restored(project, tmp_path: Path) -> None:
    """A user's hook is kept, runs first with git's arguments and stdin, and comes back."""
    root, remote, log = project
    original = LEGACY.format(log=log, stdin=tmp_path / "stdin.txt", code=0)
    user_hook = root / ".git" / "hooks" / "pre-push"
    user_hook.write_text(original)
    user_hook.chmod(0o755)
    hooks.install(root, output=quiet())
    assert (root / ".git" / "hooks" / "pre-push.legacy").read_text() == original
    st = hooks.status(root)
    assert st.state == "ours"
    assert st.legacy is not None
    done = push(root, "origin", "main")
    assert done.returncode == 0, done.stdout
    assert runs(log) == [f"legacy origin {remote}", f"check {root}"]
    head = git(root, "rev-parse", "HEAD").strip()
    stdin = (tmp_path / "stdin.txt").read_text()
    assert stdin.split() == ["refs/heads/main", head, "refs/heads/main", "0" * 40]
    assert hooks.uninstall(root, output=quiet())
    assert user_hook.read_text() == original
    assert not (root / ".git" / "hooks" / "pre-push.legacy").exists()
    assert hooks.status(root).state == "foreign"


def test_failing_chained_hook_refuses_before_our_checks(project, tmp_path: Path) -> None:
    """When the user's hook refuses, the push is refused and our command does not run."""
    root, remote, log = project
    user_hook = root / ".git" / "hooks" / "pre-push"
    user_hook.write_text(LEGACY.format(log=log, stdin=tmp_path / "stdin.txt", code=3))
    user_hook.chmod(0o755)
    hooks.install(root, output=quiet())
    done = push(root, "origin", "main")
    assert done.returncode != 0
    assert "pre-push.legacy refused the push (exit code 3)" in done.stdout
    assert runs(log) == [f"legacy origin {remote}"]
    assert remote_ref(remote) is None


def test_reinstall_updates_in_place_and_never_overwrites(project) -> None:
    """Our hook is updated in place; a foreign hook with a legacy one already kept is refused."""
    root, _, _ = project
    hooks_dir = root / ".git" / "hooks"
    hooks.install(root, python="/old/python", output=quiet())
    hooks.install(root, output=quiet())
    assert not (hooks_dir / "pre-push.legacy").exists()
    assert hooks.status(root).python == sys.executable
    (hooks_dir / "pre-push").write_text("#!/bin/sh\necho mine\n")
    (hooks_dir / "pre-push.legacy").write_text("#!/bin/sh\necho older\n")
    with pytest.raises(UsageError, match=r"pre-push is not ci_tasks' and pre-push.legacy exists"):
        hooks.install(root, output=quiet())
    assert (hooks_dir / "pre-push").read_text() == "#!/bin/sh\necho mine\n"
    with pytest.raises(UsageError, match="not ci_tasks' hook; leaving it alone"):
        hooks.uninstall(root, output=quiet())


def test_core_hooks_path_is_honoured(project) -> None:
    """With core.hooksPath set, the hook goes there (where git looks), and runs on push."""
    root, remote, log = project
    git(root, "config", "core.hooksPath", ".githooks")
    path = hooks.install(root, output=quiet())
    assert path == root / ".githooks" / "pre-push"
    assert not (root / ".git" / "hooks" / "pre-push").exists()
    assert hooks.status(root).hooks_path == ".githooks"
    assert push(root, "origin", "main").returncode == 0
    assert runs(log) == [f"check {root}"]
    assert remote_ref(remote) is not None


def test_worktree_installs_in_the_common_dir(project, tmp_path: Path) -> None:
    """From a linked worktree the hook goes to the shared hooks dir and checks that worktree."""
    root, remote, log = project
    other = tmp_path / "other"
    git(root, "worktree", "add", "-q", "-b", "topic", str(other))
    path = hooks.install(other, output=quiet())
    assert path == root / ".git" / "hooks" / "pre-push"
    assert push(other, "origin", "topic").returncode == 0
    assert runs(log) == [f"check {other}"]
    assert remote_ref(remote, "refs/heads/topic") is not None


def test_recorded_interpreter_gone_falls_back_to_uv_run(project, tmp_path: Path) -> None:
    """When the recorded interpreter is gone the hook asks `uv run` (here a stand-in uv)."""
    root, _, log = project
    hooks.install(root, python=str(tmp_path / "gone" / "python"), output=quiet())
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake_uv = bin_dir / "uv"
    # Stands in for `uv run --project P python ARGS...`: logs, then runs ARGS with our python.
    fake_uv.write_text(
        f'#!/bin/sh\necho "uv $*" >> "{log}"\nshift 4\nexec "{sys.executable}" "$@"\n'
    )
    fake_uv.chmod(0o755)
    done = push(root, "origin", "main", env={"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"})
    assert done.returncode == 0, done.stdout
    assert runs(log)[0].startswith("uv run --project . python -m ci_tasks.adopt.hooks pre-push")
    assert runs(log)[1] == f"check {root}"


def test_status_says_what_where_and_what_is_chained(project) -> None:
    """hooks.status names the state, the path, the interpreter and a chained hook."""
    root, _, _ = project
    assert "not installed" in hooks.describe(hooks.status(root))[0]
    (root / ".git" / "hooks" / "pre-push").write_text("#!/bin/sh\n")
    assert "is not ci_tasks'" in hooks.describe(hooks.status(root))[0]
    hooks.install(root, output=quiet())
    lines = hooks.describe(hooks.status(root))
    assert lines[0] == f"pre-push hook: installed (ci_tasks) at {root}/.git/hooks/pre-push"
    assert lines[1] == f"  interpreter: {sys.executable}"
    assert lines[2] == f"  chained first: {root}/.git/hooks/pre-push.legacy"


def invoke(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """This repository's tasks.py through real invoke, working on the project in *cwd*."""
    return subprocess.run(
        [sys.executable, "-m", "invoke", "--search-root", str(REPO_ROOT), *args],
        cwd=cwd,
        env=git_env(),
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_invoke_lists_and_runs_the_hook_tasks(project) -> None:
    """`inv --list` shows preflight and hooks.*; hooks.install/status/uninstall work through it."""
    root, _, _ = project
    listed = invoke(root, "--list").stdout.split()
    for name in ("preflight", "hooks.install", "hooks.uninstall", "hooks.status"):
        assert name in listed
    assert invoke(root, "hooks.install").returncode == 0
    assert "installed (ci_tasks)" in invoke(root, "hooks.status").stdout
    assert invoke(root, "hooks.uninstall").returncode == 0
    assert not (root / ".git" / "hooks" / "pre-push").exists()
    (root / ".git" / "hooks" / "pre-push").write_text("#!/bin/sh\n")
    (root / ".git" / "hooks" / "pre-push.legacy").write_text("#!/bin/sh\n")
    refused = invoke(root, "hooks.install")
    assert refused.returncode == 2
    assert "move one of them away" in refused.stderr


@pytest.mark.slow
def test_end_to_end_through_nox_preflight(tmp_path: Path) -> None:
    """Real nox -s preflight behind the hook: red refused, green pushed, unchanged cached."""
    failing = "from sample import add\n\n\ndef test_add():\n    assert add(1, 2) == 4\n"
    proj = make_project(
        tmp_path / "proj",
        dev=(*TEST_TOOLS, *LINT_TOOLS),
        files={".gitignore": ".venv/\n", "tests/test_sample.py": failing},
        # Security has end-to-end tests of its own; here two stages show the cache at work.
        ci_tasks='preflight = { stages = ["lint", "tests"] }\ntests = { workers = 0 }',
        extra='[tool.ruff.lint]\nselect = ["E", "F"]\n',
    )
    root = init_repo(proj.path)
    remote = bare_remote(tmp_path / "remote.git", root)
    hooks.install(root, output=quiet())
    env = {"UV_PYTHON_DOWNLOADS": "never"}

    red = push(root, "origin", "main", env=env)
    assert red.returncode != 0, red.stdout
    assert "tests: failed" in red.stdout
    assert "push refused" in red.stdout
    assert remote_ref(remote) is None

    (root / "tests" / "test_sample.py").write_text(failing.replace("== 4", "== 3"))
    git(root, "commit", "-qam", "fix the test")
    green = push(root, "origin", "main", env=env)
    assert green.returncode == 0, green.stdout
    assert "tests: passed in" in green.stdout
    assert "(cached" not in green.stdout  # the fix changed the tree: every stage ran again
    assert remote_ref(remote) == git(root, "rev-parse", "HEAD").strip()

    again = push(root, "origin", "main:release", env=env)
    assert again.returncode == 0, again.stdout
    assert "lint: passed (cached" in again.stdout
    assert "tests: passed (cached" in again.stdout
    assert remote_ref(remote, "refs/heads/release") == remote_ref(remote)


def test_invoke_preflight_passes_flags_and_exit_code(tmp_path: Path) -> None:
    """`inv preflight --fail-fast --no-cache` runs `nox -s preflight -- ...` and keeps its code."""
    record = tmp_path / "posargs.txt"
    root = init_repo(
        tmp_path / "proj",
        {
            "pyproject.toml": "[project]\nname = 'x'\n",
            "noxfile.py": (
                "import pathlib\nimport nox\n\n\n@nox.session(venv_backend='none')\n"
                "def preflight(session):\n"
                f"    pathlib.Path({str(record)!r}).write_text(' '.join(session.posargs))\n"
                "    if pathlib.Path('FAIL').exists():\n        session.error('red')\n"
            ),
        },
    )
    assert invoke(root, "preflight", "--fail-fast", "--no-cache").returncode == 0
    assert record.read_text() == "--fail-fast --no-cache"
    (root / "FAIL").write_text("")
    assert invoke(root, "preflight").returncode == 1
    assert record.read_text() == ""


def test_bad_hook_config_refuses_with_one_line(project) -> None:
    """An invalid [tool.ci-tasks.hooks] refuses the push with a one-line error, no traceback."""
    root, remote, _ = project
    hooks.install(root, output=quiet())
    (root / "pyproject.toml").write_text(
        "[project]\nname = 'x'\n[tool.ci-tasks.hooks]\ncommand = ''\n"
    )
    done = push(root, "origin", "main")
    assert done.returncode != 0
    assert "tool.ci-tasks.hooks.command: expected a non-empty string" in done.stdout
    assert "Traceback" not in done.stdout
    assert remote_ref(remote) is None


def test_the_hook_runs_nox_from_the_locked_ci_environment(tmp_path):
    """With noxfile.py.lock present, the hook's `nox ...` becomes `uv run --locked --script`."""
    command = hooks._command(["nox", "-s", "preflight"], tmp_path, {"PATH": ""})
    assert command[1:] != ["run", "--locked", "--script", "noxfile.py", "-s", "preflight"]
    (tmp_path / scriptenv.LOCK).write_text("")
    command = hooks._command(["nox", "-s", "preflight"], tmp_path, {"PATH": ""})
    assert command[1:] == ["run", "--locked", "--script", "noxfile.py", "-s", "preflight"]
