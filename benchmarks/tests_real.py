"""The default ``tests`` session against the project's own test commands, on real suites.

Run on a project adopted with ``ci-tasks init`` (and committed), given by its path; nothing
fetched is part of this repository:

* ``uv run python benchmarks/tests_real.py small DIR [--repeat 5]``: a ~300-test suite
  whose project measures no coverage (pallets/itsdangerous: 297 tests, flit, its CI runs
  ``uv run --locked tox run -e py3.11`` with tox-uv). Side by side, warm: the default
  session as CI runs it (``uv run --locked --script noxfile.py -r -s tests-3.11``: ``-r``
  reuses the session's venv and still syncs it from the lock, as ``uv run`` checks its own),
  ``uv run pytest``, the project's tox-uv env, and nox's own floor: a bare nox session,
  run the same way from the same environment, that syncs the test group from the lock and
  runs plain ``pytest`` (what the default session does, without ci_tasks). Targets: <= 1.1x
  the bare nox session, <= 0.8x tox.
* ``uv run python benchmarks/tests_real.py packaging DIR [--repeat 3]``: pypa/packaging's
  whole suite (its ``fail_under = 100`` turns coverage on). The default session against
  serial ``pytest --cov``, and the session with ``coverage = false`` against plain
  ``pytest`` (both in a venv made from the project's lock, with pytest-cov added, which
  packaging's own groups lack). Targets: <= 0.7x and <= 0.75x; and the session passes
  the project's own floor. Beside them, the machine's limit: the same split by file the
  session makes (from the durations it recorded, one part per core), run as plain
  ``pytest`` processes side by side, no ci_tasks (``tests_real.py limit``), once plain and
  once under ``coverage run`` (then ``coverage combine``); target: the session <= 1.1x it,
  either way.

Each command runs once cold (venvs, the durations ``workers = "auto"`` decides from),
then the commands take turns (A, B, A, B...), so a loaded machine slows each alike;
medians are printed, of wall time and of CPU time (each command's whole process tree, from
``wait4``: a process waiting for a core costs no CPU time, so a busy machine moves it
less than wall time, though sharing a core's caches still inflates it).
Children write bytecode (``PYTHONDONTWRITEBYTECODE`` is dropped), as a maintainer's warm
runs do. ``coverage = false`` is set in the project's pyproject.toml for
those runs only, and put back after each.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ci_tasks.core import groups
from ci_tasks.stages.testing import durations, environment, file_split
from tests.support.sample import clean_env


class Sample(NamedTuple):
    """One run of one command."""

    wall: float
    cpu: float
    """User + system seconds of the command and every process under it."""
    code: int


def bench_env() -> dict[str, str]:
    """The child environment, with Python writing bytecode as on a maintainer's machine.

    ``PYTHONDONTWRITEBYTECODE`` (set in some sandboxes and containers) would make every
    warm run compile nox, ci_tasks and pytest from source again: not a warm run at all,
    and a cost paid per module, so the command importing most pays most.
    """
    env = clean_env()
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def timed(command: list[str], cwd: Path, env: dict[str, str], log: Path) -> Sample:
    """Wall and CPU seconds and exit code of *command*; its output appended to *log*.

    The CPU time is the command's whole tree (user + system, every descendant it waited
    for), read from ``wait4``: time spent waiting for a core is not in it, so other
    processes on the machine move it less than wall time (they still inflate it some).
    """
    start = time.perf_counter()
    with log.open("a", encoding="utf-8") as sink:
        sink.write(f"\n$ {' '.join(command)}\n")
        sink.flush()
        process = subprocess.Popen(command, cwd=cwd, env=env, stdout=sink, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - start
    return Sample(wall, usage.ru_utime + usage.ru_stime, process.returncode)


@contextlib.contextmanager
def coverage_off(root: Path) -> Iterator[None]:
    """``[tool.ci-tasks.tests] coverage = false`` for the duration, then the file as it was."""
    path = root / "pyproject.toml"
    text = path.read_text(encoding="utf-8")
    changed, count = re.subn(r'(?m)^coverage = "auto"$', "coverage = false", text)
    if count != 1:
        msg = f'{path}: no `coverage = "auto"` line to switch (run `ci-tasks init` first)'
        raise SystemExit(msg)
    path.write_text(changed, encoding="utf-8")
    try:
        yield
    finally:
        path.write_text(text, encoding="utf-8")


def bench_venv(root: Path, folder: Path, env: dict[str, str], extra: list[str]) -> Path:
    """A venv with the project's locked test group (and *extra*), apart from the session's."""
    data = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    group = groups.pytest_group(data)
    requirements = folder / "requirements.txt"
    export = ["uv", "export", "--locked", "--no-hashes", "--no-default-groups"]
    export += ["--group", group] if group else []
    subprocess.run([*export, "-o", str(requirements)], cwd=root, env=env, check=True)
    venv = folder / "venv"
    subprocess.run(["uv", "venv", "-q", "--python", "3.11", str(venv)], env=env, check=True)
    install = ["uv", "pip", "install", "-q", "--python", str(venv / "bin" / "python")]
    subprocess.run([*install, "-r", str(requirements), *extra], cwd=root, env=env, check=True)
    return venv


def show(title: str, rows: dict[str, list[Sample]], targets: list[tuple[str, str, float]]) -> None:
    wall = {name: statistics.median(r.wall for r in runs) for name, runs in rows.items()}
    cpu = {name: statistics.median(r.cpu for r in runs) for name, runs in rows.items()}
    print(title)
    print(f"{'':58}{'median s':>9}{'min s':>8}{'CPU s':>8}  exit")
    for name, runs in rows.items():
        exits = ",".join(str(c) for c in sorted({r.code for r in runs}))
        fastest = min(r.wall for r in runs)
        print(f"{name:58}{wall[name]:9.2f}{fastest:8.2f}{cpu[name]:8.2f}  {exits}")
    for what, against, target in targets:
        ratio = wall[what] / wall[against]
        verdict = "ok" if ratio <= target else "MISSED"
        print(f"  {what} / {against}: {ratio:.2f}x (target <= {target:g}x) {verdict}")
        print(
            f"    CPU time: {cpu[what] / cpu[against]:.2f}x (median CPU time, less load-sensitive)"
        )


def run_rows(
    root: Path,
    commands: dict[str, tuple[list[str], Path, dict[str, str], bool]],
    repeat: int,
    log: Path,
    *,
    cold: bool = True,
) -> dict[str, list[Sample]]:
    """Each command once cold (unless not *cold*), then *repeat* rounds in turn.

    Returns the samples per row.
    """
    rows: dict[str, list[Sample]] = {name: [] for name in commands}
    for rounds in (*((0,) if cold else ()), *range(1, repeat + 1)):
        for name, (command, cwd, env, off) in commands.items():
            with coverage_off(root) if off else contextlib.nullcontext():
                sample = timed(command, cwd, env, log)
            print(
                f"  round {rounds}: {name}: {sample.wall:.2f} s, CPU {sample.cpu:.2f} s "
                f"(exit {sample.code})",
                flush=True,
            )
            if rounds:  # round 0 is the cold one
                rows[name].append(sample)
    return rows


BARE_NOXFILE = "noxfile_bare_nox.py"
BARE = """
import nox

nox.options.default_venv_backend = "uv"


@nox.session(python="3.11")
def bare(session):
    env = {{"UV_PROJECT_ENVIRONMENT": session.virtualenv.location}}
    sync = ["uv", "sync", "--locked", "--no-default-groups", "--group", {group!r}]
    session.run_install(*sync, env=env)
    session.run("pytest")


if __name__ == "__main__":
    nox.main()
"""


@contextlib.contextmanager
def bare_nox(root: Path) -> Iterator[list[str]]:
    """The command running a bare nox session in *root*, as the default session runs.

    Its file carries the noxfile's PEP 723 block and a copy of its lock, so ``uv run
    --locked --script`` runs it from the same environment; both are removed afterwards.
    nox's walk of that block's dependency tree is skipped (``--script-mode none``), as
    ``ci_tasks.main()`` skips it once the block's own requirements are met.
    """
    text = (root / "noxfile.py").read_text(encoding="utf-8")
    block = re.search(r"(?ms)^# /// script$.*?^# ///$", text)
    if block is None:
        msg = f"{root / 'noxfile.py'}: no PEP 723 block (run `ci-tasks init` first)"
        raise SystemExit(msg)
    group = groups.pytest_group(tomllib.loads((root / "pyproject.toml").read_text("utf-8")))
    if group is None:
        msg = f"{root / 'pyproject.toml'}: no dependency group lists pytest"
        raise SystemExit(msg)
    noxfile, lock = root / BARE_NOXFILE, root / f"{BARE_NOXFILE}.lock"
    noxfile.write_text(block[0] + "\n" + BARE.format(group=group), "utf-8")
    lock.write_bytes((root / "noxfile.py.lock").read_bytes())
    try:
        yield [
            "uv",
            "run",
            "--locked",
            "--script",
            BARE_NOXFILE,
            "-f",
            BARE_NOXFILE,
            "-r",
            "--script-mode",
            "none",
        ]
    finally:
        noxfile.unlink(missing_ok=True)
        lock.unlink(missing_ok=True)


def small(args: argparse.Namespace) -> None:
    root = Path(args.dir).resolve()
    env = bench_env()
    with bare_nox(root) as bare:
        _small(args, root, env, bare)


def _small(args: argparse.Namespace, root: Path, env: dict[str, str], bare: list[str]) -> None:
    session = ["uv", "run", "--locked", "--script", "noxfile.py", "-r", "-s", "tests-3.11"]
    probe = ["uv", "run", "--locked", "tox", "--version"]
    own_tox = subprocess.run(probe, cwd=root, env=env, capture_output=True, check=False)
    # The project's own tox (itsdangerous: tox and tox-uv in its dev group), else uvx's.
    tox = probe[:-1] if own_tox.returncode == 0 else ["uvx", "--with", "tox-uv", "tox"]
    commands = {
        "default session (nox -r -s tests-3.11)": (session, root, env, False),
        "uv run pytest": (["uv", "run", "pytest"], root, env, False),
        f"tox-uv env ({' '.join(tox)} run -e py3.11)": (
            [*tox, "run", "-e", "py3.11"],
            root,
            env,
            False,
        ),
        "bare nox session (uv sync + pytest)": ([*bare, "-s", "bare"], root, env, False),
    }
    log = Path(tempfile.gettempdir()) / f"tests_real-{root.name}.log"
    log.write_text("")
    rows = run_rows(root, commands, args.repeat, log, cold=not args.warm)
    names = list(commands)
    load = os.getloadavg()[0]
    show(
        f"{root.name}: runs each {args.repeat}, load {load:.1f}; log {log}",
        rows,
        [(names[0], names[3], 1.1), (names[0], names[2], 0.8)],
    )
    floor = statistics.median(r.wall for r in rows[names[3]])
    pytest = statistics.median(r.wall for r in rows[names[1]])
    print(f"  nox's own floor, {names[3]} / {names[1]}: {floor / pytest:.2f}x")


OURS_NOXFILE = "noxfile_ci_tasks_only.py"
OURS = """import ci_tasks
import nox

nox.options.default_venv_backend = "uv"
ci_tasks.register()
"""


@contextlib.contextmanager
def ours_only(root: Path, env: dict[str, str]) -> Iterator[list[str]]:
    """The command running ci_tasks' own ``tests-3.11`` stage in *root*.

    A project whose noxfile has a ``tests`` session of its own (pypa/packaging's) keeps it:
    CI runs it in ci_tasks' place, so ``noxfile.py -s tests-3.11`` is the project's command.
    To measure ci_tasks' stage there, nox runs, from the CI environment
    (``noxfile.py.lock``'s interpreter), a noxfile beside it with only ci_tasks' sessions,
    removed afterwards.
    """
    found = subprocess.run(
        ["uv", "python", "find", "--script", "noxfile.py"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    noxfile = root / OURS_NOXFILE
    noxfile.write_text(OURS, encoding="utf-8")
    try:
        python = found.stdout.strip()
        yield [python, "-m", "nox", "-f", OURS_NOXFILE, "-r", "-s", "tests-3.11"]
    finally:
        noxfile.unlink(missing_ok=True)


def own_tests_session(root: Path) -> bool:
    """Whether the project's noxfile defines a ``tests`` session of its own."""
    text = (root / "noxfile.py").read_text(encoding="utf-8")
    return re.search(r"^def tests\(", text, re.MULTILINE) is not None


def packaging(args: argparse.Namespace) -> None:
    root = Path(args.dir).resolve()
    env = bench_env()
    session = ["uv", "run", "--locked", "--script", "noxfile.py", "-r", "-s", "tests-3.11"]
    with contextlib.ExitStack() as stack:
        if own_tests_session(root):
            session = stack.enter_context(ours_only(root, env))
            print(f"  {root.name}'s noxfile has its own tests session: measuring ci_tasks' stage")
        _packaging(args, root, env, session)


def _packaging(
    args: argparse.Namespace,
    root: Path,
    env: dict[str, str],
    session: list[str],
) -> None:
    with tempfile.TemporaryDirectory(prefix="tests-real-") as tmp:
        venv = bench_venv(root, Path(tmp), env, ["pytest-cov"])
        plain_env = {**env, "PATH": f"{venv / 'bin'}{os.pathsep}{env['PATH']}"}
        plain_env["COVERAGE_FILE"] = str(Path(tmp) / ".coverage")
        pytest = [str(venv / "bin" / "pytest"), "-p", "no:cacheprovider", "-q"]
        limit = [sys.executable, str(Path(__file__).resolve()), "limit", str(root)]
        limit += ["--venv", str(venv)]
        commands = {
            "default session (auto: coverage on)": (session, root, env, False),
            "serial pytest --cov": ([*pytest, "--cov"], root, plain_env, False),
            "session, coverage = false": (session, root, env, True),
            "plain pytest": (pytest, root, plain_env, False),
            "limit: plain pytest parts side by side, coverage run": (
                [*limit, "--coverage"],
                root,
                plain_env,
                False,
            ),
            "limit: plain pytest parts side by side": (limit, root, plain_env, False),
        }
        log = Path(tempfile.gettempdir()) / f"tests_real-{root.name}.log"
        log.write_text("")
        rows = run_rows(root, commands, args.repeat, log, cold=not args.warm)
    names = list(commands)
    load = os.getloadavg()[0]
    show(
        f"{root.name}: runs each {args.repeat}, load {load:.1f}; log {log}",
        rows,
        [
            (names[0], names[1], 0.7),
            (names[2], names[3], 0.75),
            (names[0], names[4], 1.1),
            (names[2], names[5], 1.1),
        ],
    )
    totals = re.findall(r"coverage total: [^\n]*", log.read_text(encoding="utf-8"))
    print(f"  the default session's coverage: {totals[-1] if totals else 'none reported'}")


def limit(args: argparse.Namespace) -> None:
    """The machine's limit: the session's split, as plain pytest processes at once.

    The parts are those the session makes (:mod:`ci_tasks.stages.testing.file_split`, from
    the durations its runs recorded, one part per core), by file, or by test where files do
    not balance (each part collects the suite and keeps its ids, as the session's do); no
    ci_tasks in them. Exits with the
    parts' worst exit code.
    """
    root, bin_dir = Path(args.dir).resolve(), Path(args.venv) / "bin"
    data = json.loads((root / ".ci-tasks" / durations.FILE).read_text(encoding="utf-8"))
    costs = durations.latest(durations.parse_store(data) or {})
    split = file_split.split_by_file(
        costs, file_split.suite_of(root, (), costs), environment.usable_cores()
    )
    part_args = [list(part) for part in split.args]
    env = dict(os.environ)
    with tempfile.TemporaryDirectory(prefix="tests-real-limit-") as tmp:
        if not part_args:
            # The session splits by test where files do not balance: every part collects
            # the suite and keeps its own tests. The same here, with no ci_tasks: a
            # ten-line plugin keeps the ids of this part (pytest resolving 30,000 ids
            # given as arguments takes minutes).
            print(f"split by test ({split.reason})", flush=True)
            sys.path.insert(0, str(environment.PLUGIN_DIR))
            import ci_tasks_split  # noqa: PLC0415 - the session's own split, on sys.path

            folder = Path(tmp)
            (folder / "limit_part.py").write_text(_LIMIT_PLUGIN, encoding="utf-8")
            env["PYTHONPATH"] = os.pathsep.join([tmp, env.get("PYTHONPATH", "")])
            cores = environment.usable_cores()
            for index, ids in enumerate(ci_tasks_split.split(costs, costs, cores), start=1):
                listed = folder / f"part-{index}.json"
                listed.write_text(json.dumps(ids), encoding="utf-8")
                part_args.append(["-p", "limit_part", f"--limit-part={listed}"])
        codes = _limit_parts(root, bin_dir, part_args, env, coverage=args.coverage)
    raise SystemExit(max(codes))


_LIMIT_PLUGIN = """
import json
from pathlib import Path


def pytest_addoption(parser):
    parser.addoption("--limit-part")


def pytest_collection_modifyitems(config, items):
    mine = set(json.loads(Path(config.getoption("limit_part")).read_text(encoding="utf-8")))
    kept = [item for item in items if item.nodeid in mine]
    config.hook.pytest_deselected(items=[item for item in items if item.nodeid not in mine])
    items[:] = kept
"""


def _limit_parts(
    root: Path,
    bin_dir: Path,
    part_args: list[list[str]],
    env: dict[str, str],
    *,
    coverage: bool,
) -> list[int]:
    """Each part as a plain pytest process, all at once; their exit codes (and combine's)."""
    pytest = [str(bin_dir / "pytest"), "-p", "no:cacheprovider", "-q"]
    if coverage:
        run = [str(bin_dir / "python"), "-m", "coverage", "run", "-p", "-m", "pytest"]
        pytest = [*run, *pytest[1:]]
    parts = [subprocess.Popen([*pytest, *part], cwd=root, env=env) for part in part_args]
    codes = [part.wait() for part in parts]
    if coverage:
        combine = [str(bin_dir / "python"), "-m", "coverage", "combine", "-q"]
        codes.append(subprocess.run(combine, cwd=root, check=False).returncode)
    return codes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="suite", required=True)
    for name, default in (("small", 5), ("packaging", 3)):
        one = sub.add_parser(name)
        one.add_argument("dir")
        one.add_argument("--repeat", type=int, default=default)
        one.add_argument(
            "--warm", action="store_true", help="skip the cold round (venvs and durations exist)"
        )
    parts = sub.add_parser("limit", help="the session's split as plain pytest side by side")
    parts.add_argument("dir")
    parts.add_argument("--venv", required=True, help="the venv whose pytest runs the parts")
    parts.add_argument("--coverage", action="store_true", help="each part under coverage run")
    args = parser.parse_args()
    {"small": small, "packaging": packaging, "limit": limit}[args.suite](args)


if __name__ == "__main__":
    main()
