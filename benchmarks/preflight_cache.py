"""How long an unchanged `nox -s preflight` takes beyond nox's own start-up.

Builds a sample project of 1,000+ files (its own uv.lock, a git repository, a test suite
that sleeps on purpose), runs `nox -s preflight` once to fill the cache, then times:

* nox's bare start-up: `nox -l` in the same project (loads the noxfile and ci_tasks);
* a second, third... `nox -s preflight` on the unchanged tree (every stage cached);
* the fingerprint alone (`ci_tasks.fingerprint.tree_state`).

Run: `uv run python benchmarks/preflight_cache.py [--files N] [--repeat R]`.
Target: cached preflight minus `nox -l` at most 0.5 s, whatever the test suite costs.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ci_tasks.stages.preflight import fingerprint
from tests.support.gitsupport import git, init_repo
from tests.support.sample import LINT_TOOLS, TEST_TOOLS, clean_env, make_project

SLOW_TEST = "import time\n\n\ndef test_slow():\n    time.sleep({seconds})\n"


def timed(cwd: Path, *args: str) -> float:
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "nox", *args],
        cwd=cwd,
        env=clean_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"nox {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=1200)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--test-seconds", type=float, default=3.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ci-tasks-bench-") as tmp:
        files = {
            f"sample/mod_{i:04d}.py": f'"""Module {i}."""\n\nVALUE = {i}\n'
            for i in range(args.files)
        }
        files[".gitignore"] = ".venv/\n"
        files["tests/test_slow.py"] = SLOW_TEST.format(seconds=args.test_seconds)
        project = make_project(
            Path(tmp) / "proj",
            dev=(*TEST_TOOLS, *LINT_TOOLS),
            files=files,
            # Security is left out: with no vulnerability service reachable here it is
            # UNVERIFIED, and only passes are cached, so it would rerun every time.
            ci_tasks='preflight = { stages = ["lint", "tests"] }\ntests = { workers = 0 }',
            extra='[tool.ruff.lint]\nselect = ["E", "F"]\n',
        )
        root = init_repo(project.path)
        tracked = len(git(root, "ls-files").splitlines())

        cold = timed(root, "-s", "preflight")
        warm = [timed(root, "-s", "preflight") for _ in range(args.repeat)]
        bare = [timed(root, "-l") for _ in range(args.repeat)]
        start = time.perf_counter()
        for _ in range(args.repeat):
            fingerprint.tree_state(root)
        fp = (time.perf_counter() - start) / args.repeat

    cached, startup = statistics.median(warm), statistics.median(bare)
    print(f"tracked files:                        {tracked:6d}")
    print(f"test suite sleeps:                    {args.test_seconds:6.2f} s")
    print(f"first nox -s preflight (fills cache): {cold:6.2f} s")
    print(f"nox -l (bare start-up), median:       {startup:6.2f} s")
    print(f"cached nox -s preflight, median:      {cached:6.2f} s")
    print(f"difference (target <= 0.50 s):        {cached - startup:6.2f} s")
    print(f"fingerprint alone (tree_state):       {fp * 1000:6.1f} ms")


if __name__ == "__main__":
    main()
