"""Combine the coverage data of a tests session's pytest processes; report it once.

Run in the project's own test environment (``python -m ci_tasks_coverage``, this folder
on ``PYTHONPATH``), with the project's coverage and its configuration. It imports nothing
but the standard library and coverage. Each pytest process of a session writes its own
data file (under ``coverage run``, or pytest-cov under xdist, told not to report); this
combines them into one data file, prints the terminal report, writes the XML one, and
writes the total with the project's ``precision`` and ``fail_under`` as JSON: the
session judges the floor on the whole run (no part of a split suite could reach it
alone) and prints that one total.

Exit codes: 0, 1 when there is nothing to report.
"""

# This folder is a sys.path entry of the test environment, not a package: no __init__.py.
# ruff: noqa: INP001, T201

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import coverage  # type: ignore[import-not-found,unused-ignore]


def main(argv: list[str] | None = None) -> int:
    """Combine *parts* into *data_file*, report it, write *xml* and *result*; the exit code."""
    parser = argparse.ArgumentParser(prog="python -m ci_tasks_coverage")
    parser.add_argument("--data-file", required=True)
    parser.add_argument("--xml", required=True)
    parser.add_argument("--result", required=True)
    parser.add_argument(
        "--path",
        action="append",
        default=[],
        help="TREE=INSTALLED: data measured in INSTALLED (a wheel's package) is TREE's",
    )
    parser.add_argument("parts", nargs="+", help="data files, or folders holding them")
    args = parser.parse_args(argv)
    cov = coverage.Coverage(data_file=args.data_file)
    if args.path:
        # Coverage's own [paths] remapping, applied as the parts are combined.
        own = cov.get_option("paths")
        paths = dict(own) if isinstance(own, dict) else {}
        for pair in args.path:
            tree, _, installed = pair.partition("=")
            paths[tree] = [tree, installed]
        cov.set_option("paths", paths)
    try:
        cov.combine(args.parts)
        cov.save()
        total = cov.report(file=sys.stdout)
        cov.xml_report(outfile=args.xml)
    except coverage.CoverageException as exc:
        print(f"coverage: {exc}")
        return 1
    result = {
        "total": total,
        "precision": int(str(cov.get_option("report:precision") or 0)),
        "fail_under": float(str(cov.get_option("report:fail_under") or 0)),
    }
    Path(args.result).write_text(json.dumps(result), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
