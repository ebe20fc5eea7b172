"""How long the build session's own work takes beside the builds: hashing, comparing, SBOM.

Run after ``nox -s build`` (it reads ``dist/``): ``uv run python benchmarks/build_parts.py``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from ci_tasks.stages.package.archives import differences, read_archive, sha256_file
from ci_tasks.stages.package.sbom import make_sbom

ROOT = Path(__file__).resolve().parent.parent
ROUNDS = 50


def timed(func: Callable[..., object], *args: object) -> float:
    start = time.perf_counter()
    for _ in range(ROUNDS):
        func(*args)
    return (time.perf_counter() - start) / ROUNDS * 1000


def main() -> None:
    artifacts = sorted((ROOT / "dist").glob("*.whl")) + sorted((ROOT / "dist").glob("*.tar.gz"))
    if not artifacts:
        raise SystemExit("run `uv run nox -s build` first: dist/ holds no artifacts")
    print(f"{'artifact':40} {'size':>8} {'sha256 ms':>10} {'read ms':>8} {'compare ms':>11}")
    for path in artifacts:
        contents = read_archive(path)
        print(
            f"{path.name:40} {path.stat().st_size:>8} {timed(sha256_file, path):>10.2f}"
            f" {timed(read_archive, path):>8.2f} {timed(differences, contents, contents):>11.3f}"
        )
    lock = (ROOT / "uv.lock").read_text()
    ms = timed(lambda: make_sbom(lock, "ci-tasks", epoch=0))
    count = len(make_sbom(lock, "ci-tasks", epoch=0)["components"])
    print(f"SBOM from uv.lock ({len(lock)} chars, {count} runtime packages): {ms:.2f} ms")


if __name__ == "__main__":
    main()
