"""The ``ci-tasks`` command."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ci_tasks import __version__
from ci_tasks.core.cilock import UPDATE_BRANCH
from ci_tasks.core.config import Config, fields_of, load_config
from ci_tasks.core.errors import (
    EXIT_FINDINGS,
    EXIT_OK,
    CITasksError,
    UsageError,
    exit_code_for,
)
from ci_tasks.core.signals import handle_termination_signals
from ci_tasks.core.stage import ArgumentParser
from ci_tasks.core.verdict import Verdict
from ci_tasks.stages.smoke.session import add_arguments as _smoke_arguments

if TYPE_CHECKING:
    _Commands = argparse._SubParsersAction[ArgumentParser]  # noqa: SLF001 - what add_subparsers returns; argparse has no public name for it


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        plain = {f.name: _plain(f.value(value)) for f in fields_of(type(value))}
        if isinstance(value, Config):
            plain["root"] = _plain(value.root)
        return plain
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value


def _cmd_config(args: argparse.Namespace) -> int:
    config = load_config(args.project)
    plain = _plain(config)
    plain["scope"] = _scope(config)
    print(json.dumps(plain, indent=2, default=str))  # noqa: T201
    return EXIT_OK


def _scope(config: Config) -> dict[str, Any]:
    """What the sessions take from the project's own commands (or *config*), and from where."""
    from ci_tasks.core import own_commands  # noqa: PLC0415 - only this command shows it
    from ci_tasks.stages.lint import scope as lint_scope  # noqa: PLC0415
    from ci_tasks.stages.lint.config import LintConfig  # noqa: PLC0415
    from ci_tasks.stages.testing import scope as test_scope  # noqa: PLC0415
    from ci_tasks.stages.testing.config import TestsConfig  # noqa: PLC0415

    own = own_commands.read(config.root)
    return {
        "read_from": list(own.sources),
        "skipped": list(own.skipped),
        "tests": test_scope.choose(own, config.root, config.section(TestsConfig)).said(),
        "lint": lint_scope.choose(own, config.section(LintConfig)).said(),
    }


def _cmd_init(args: argparse.Namespace) -> int:
    from ci_tasks.adopt import init  # noqa: PLC0415 - only this subcommand needs tomlkit and packaging
    from ci_tasks.core.actions import default_output  # noqa: PLC0415

    out = default_output()
    result = init.run(
        args.project.resolve(),
        ci_tasks_source=args.ci_tasks_source,
        force=args.force,
        dry_run=args.dry_run,
        update_lock=args.lock,
        out=out,
    )
    if not args.baseline:
        return EXIT_OK
    if args.dry_run:
        out.line(
            "baseline: would accept the findings of ci_tasks' own policies on files that "
            "predate adoption as dated entries (none taken with --dry-run)"
        )
        return EXIT_OK
    init.take_baseline(result, out)
    return EXIT_OK


def _cmd_baseline(args: argparse.Namespace) -> int:
    from ci_tasks.adopt import scriptenv  # noqa: PLC0415
    from ci_tasks.core import baseline  # noqa: PLC0415
    from ci_tasks.core.actions import default_output  # noqa: PLC0415
    from ci_tasks.core.runner import Runner  # noqa: PLC0415

    config = load_config(args.project)
    out = default_output()
    runner = Runner(cwd=config.root, output=out, timeout=args.timeout)
    added = baseline.run(config, runner, out, tools_dirs=scriptenv.tools_dirs(config.root, runner))
    if not added:
        out.line("baseline: every current finding is already accounted for; nothing added", "ok")
        return EXIT_OK
    out.line(
        f"baseline: added {len(added)} entr{'y' if len(added) == 1 else 'ies'} to pyproject.toml:"
    )
    for entry in added:
        out.line(f"  {entry.describe()}")
    out.line("each is listed by readiness until it is fixed or expires; commit pyproject.toml")
    return EXIT_OK


def _cmd_lock(args: argparse.Namespace) -> int:
    from ci_tasks.adopt import lockupdate, scriptenv  # noqa: PLC0415 - only this subcommand runs uv
    from ci_tasks.core import cilock  # noqa: PLC0415
    from ci_tasks.core.actions import Output, default_output  # noqa: PLC0415
    from ci_tasks.core.pins import PRE_COMMIT as PRE_COMMIT_FILE  # noqa: PLC0415
    from ci_tasks.core.retry import RetryPolicy  # noqa: PLC0415
    from ci_tasks.core.runner import Runner  # noqa: PLC0415

    root = args.project.resolve()
    # With --json, standard output is the data alone; uv's progress and our lines go to stderr.
    out = Output(stream=sys.stderr) if args.json else default_output()
    runner = Runner(cwd=root, output=out, timeout=args.timeout)
    if args.no_dispatch and not args.pull_request:
        msg = "lock: --no-dispatch says how --pull-request ends; it needs --pull-request"
        raise UsageError(msg)
    if args.check:
        if args.pull_request or args.json:
            msg = "lock: --check changes nothing; it cannot go with --pull-request or --json"
            raise UsageError(msg)
        if not (root / cilock.LOCK).is_file():
            out.line(f"{cilock.LOCK} does not exist: run `ci-tasks lock`", "error")
            return EXIT_FINDINGS
        if not scriptenv.pins_current(root):
            out.line(
                f"{scriptenv.LOCK} is stale: {PRE_COMMIT_FILE} pins tools the noxfile's "
                "block does not; run `ci-tasks lock`",
                "error",
            )
            return EXIT_FINDINGS
        if cilock.is_current(root, runner):
            out.line(f"{scriptenv.LOCK} is current")
            return EXIT_OK
        out.line(f"{scriptenv.LOCK} is stale: run `ci-tasks lock`", "error")
        return EXIT_FINDINGS
    # The token and repository are checked before uv runs: a misconfigured workflow fails
    # in a second, not after the lock.
    client = (
        lockupdate.client_for(root, runner.env, RetryPolicy(), args.timeout)
        if args.pull_request
        else None
    )
    refreshed = scriptenv.refresh(root, runner, upgrade=args.upgrade)
    changes = refreshed.changes
    if args.json:
        data = json.dumps(lockupdate.as_data(changes), indent=2)
        print(default_output().masker.mask(data))  # noqa: T201
    else:
        rewritten = "updated, no version changed" if refreshed.rewritten else "unchanged"
        out.line(f"{scriptenv.LOCK}: {'changed:' if changes else rewritten}")
        for change in changes:
            out.line(f"  {change.line}")
    if client is not None:
        done = lockupdate.publish(
            runner,
            root,
            client,
            changes,
            base=args.base,
            warn=lambda msg: out.annotate("warning", msg),
            dispatch=not args.no_dispatch,
        )
        out.line(done)
    return EXIT_OK


def _cmd_readiness(args: argparse.Namespace) -> int:
    from ci_tasks.core.runner import Runner  # noqa: PLC0415
    from ci_tasks.core.stage import StageContext, register_secrets, run_stage  # noqa: PLC0415
    from ci_tasks.stages.readiness import session as readiness  # noqa: PLC0415 - only this command

    config = load_config(args.project)
    options = readiness.options_from(args)
    ctx = StageContext(name="readiness", config=config, runner=Runner(cwd=config.root))
    register_secrets(config, ctx.output)

    def stage(ctx: StageContext) -> Verdict | None:
        return readiness.verdict_of(readiness.run(ctx, options))

    return run_stage(stage, ctx)


def _cmd_parity(args: argparse.Namespace) -> int:
    from ci_tasks.adopt import parity  # noqa: PLC0415 - only this command runs the comparison
    from ci_tasks.core.actions import default_output  # noqa: PLC0415

    out = default_output()
    stages = tuple(args.stage) if args.stage else ("tests", "lint")
    rows = parity.run(
        args.project.resolve(), args.python, out=out, stages=stages, timeout=args.timeout
    )
    out.line(parity.render(rows))
    differs = next((row for row in rows if not row.agrees), None)
    if differs is not None:
        out.line(f"parity: {differs.first_difference()}", "error")
        return EXIT_FINDINGS
    compared = [row for row in rows if row.compared]
    if not compared:
        msg = "parity: none of the project's own commands could be run (see the notes above)"
        raise UsageError(msg)
    out.line(f"parity: every verdict agrees ({', '.join(r.stage for r in compared)})", "ok")
    return EXIT_OK


def _cmd_smoke(args: argparse.Namespace) -> int:
    from ci_tasks.stages.smoke import session as smoke  # noqa: PLC0415

    return smoke.run_cli(args, load_config(args.project))


def _folder_option(parser: argparse.ArgumentParser) -> None:
    """``--project`` of a command that works in the project folder, here by default."""
    parser.add_argument(
        "--project", type=Path, default=Path(), help="the project folder (default: here)"
    )


def _config_option(parser: argparse.ArgumentParser) -> None:
    """``--project`` of a command that reads the configuration (default: the nearest one)."""
    parser.add_argument("--project", type=Path, default=None, help="pyproject.toml or its folder")


def _add_config(commands: _Commands) -> None:
    config = commands.add_parser("config", help="validate [tool.ci-tasks] and print it")
    _config_option(config)
    config.set_defaults(func=_cmd_config)


def _add_init(commands: _Commands) -> None:
    init = commands.add_parser(
        "init",
        help="adopt ci_tasks: a locked noxfile, tasks.py, workflows, [tool.ci-tasks]",
        description="Write what a project needs to run ci_tasks locally and in GitHub Actions. "
        "Existing files are kept (reported as skipped) unless --force is given.",
    )
    _folder_option(init)
    init.add_argument(
        "--ci-tasks-source",
        metavar="PATH",
        default=None,
        help="take ci-tasks from this checkout or wheel instead of the package index "
        "(written to the noxfile's [tool.uv.sources])",
    )
    init.add_argument(
        "--force", action="store_true", help="overwrite differing files, keeping a .bak copy"
    )
    init.add_argument(
        "--dry-run", action="store_true", help="print what would be written; write nothing"
    )
    init.add_argument(
        "--no-lock",
        dest="lock",
        action="store_false",
        help="run neither `uv lock` nor `uv lock --script noxfile.py`",
    )
    init.add_argument(
        "--no-baseline",
        dest="baseline",
        action="store_false",
        help="accept no finding: by default the findings of ci_tasks' own policies (pinning, "
        "zizmor, bandit) on files that predate adoption become dated ignore entries; the "
        "project's own tools' findings (ruff, mypy) never do (see `ci-tasks baseline`)",
    )
    # The default since it was made one; kept so older instructions still work.
    init.add_argument("--baseline", dest="baseline", action="store_true", help=argparse.SUPPRESS)
    init.set_defaults(func=_cmd_init, baseline=True)


def _add_baseline(commands: _Commands) -> None:
    base = commands.add_parser(
        "baseline",
        help="accept today's lint and security findings as dated, accountable ignore entries",
        description="Run the checks that need no network (ruff, mypy if configured, the "
        "pinning policy, bandit, zizmor) and write each finding not yet accepted to "
        "[tool.ci-tasks.<stage>] ignore with a reason and an expiry 90 days out. Running it "
        "again adds nothing; an expired entry is never renewed.",
    )
    _folder_option(base)
    base.add_argument("--timeout", type=float, default=600, help="seconds each check may take")
    base.set_defaults(func=_cmd_baseline)


def _add_lock(commands: _Commands) -> None:
    lock = commands.add_parser(
        "lock",
        help="lock the CI environment (noxfile.py.lock) again and show what changed",
        description="Lock the noxfile's script block into noxfile.py.lock with uv and print "
        "each package whose version changed. Dependabot does not update script locks: "
        "run `ci-tasks lock --upgrade` to move to the newest allowed versions.",
    )
    _folder_option(lock)
    lock.add_argument("--upgrade", action="store_true", help="take the newest allowed versions")
    lock.add_argument(
        "--check", action="store_true", help="exit 1 when the lock is stale; change nothing"
    )
    lock.add_argument(
        "--json", action="store_true", help="print the changes as JSON (for the update PR)"
    )
    lock.add_argument(
        "--pull-request",
        action="store_true",
        help=f"push the lock to {UPDATE_BRANCH!r} and open or update its one pull request "
        "(GITHUB_TOKEN; what update-ci-lock.yml runs)",
    )
    lock.add_argument(
        "--no-dispatch",
        action="store_true",
        help="after pushing, do not start ci.yml on the branch (workflow_dispatch); for a "
        "token whose push starts CI itself, such as a GitHub App's",
    )
    lock.add_argument(
        "--base",
        default=None,
        help="the pull request's base branch (default: the repository's default branch)",
    )
    lock.add_argument("--timeout", type=float, default=600, help="seconds uv may take")
    lock.set_defaults(func=_cmd_lock)


def _add_parity(commands: _Commands) -> None:
    parity = commands.add_parser(
        "parity",
        help="run the project's own test and lint commands beside the sessions; compare verdicts",
        description="Find the project's own test and lint commands (tox, nox, Justfile, "
        "Makefile, hatch scripts, workflows, pre-commit hooks), run each the way its "
        "maintainers do and then the matching session the way CI does, on the same Python, "
        "one after another, and print one table. Exit 0 when every verdict agrees, 1 when "
        "one differs, 2 when the project has no such command.",
    )
    _folder_option(parity)
    parity.add_argument(
        "--python",
        default=f"{sys.version_info.major}.{sys.version_info.minor}",
        help="the Python both sides run on (default: this one, %(default)s)",
    )
    parity.add_argument(
        "--stage",
        action="append",
        choices=("tests", "lint"),
        help="compare only this stage (repeatable; default: tests and lint)",
    )
    parity.add_argument("--timeout", type=float, default=3600, help="seconds each command may take")
    parity.set_defaults(func=_cmd_parity)


def _add_readiness(commands: _Commands) -> None:
    from ci_tasks.stages.readiness.session import add_arguments  # noqa: PLC0415

    ready = commands.add_parser("readiness", help="release-readiness score, checklist and gate")
    _config_option(ready)
    add_arguments(ready)
    ready.set_defaults(func=_cmd_readiness)


def _add_smoke(commands: _Commands) -> None:
    smoke = commands.add_parser("smoke", help="wait until a deployment is ready, then check it")
    _config_option(smoke)
    _smoke_arguments(smoke)
    smoke.set_defaults(func=_cmd_smoke)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for documentation and tests)."""
    parser = ArgumentParser(prog="ci-tasks", description=__doc__)
    parser.add_argument("--version", action="version", version=f"ci-tasks {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=ArgumentParser)
    adders = (_add_config, _add_init, _add_baseline, _add_lock, _add_parity, _add_readiness)
    for add in (*adders, _add_smoke):
        add(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: every error becomes one line on stderr and a documented exit code."""
    handle_termination_signals()
    try:
        args = build_parser().parse_args(argv)
        return int(args.func(args))
    except CITasksError as exc:
        print(f"ci-tasks: error: {exc}", file=sys.stderr)  # noqa: T201
        return exit_code_for(exc)
    except KeyboardInterrupt as exc:  # Ctrl-C, SIGTERM, SIGHUP: 130, 143, 129
        return exit_code_for(exc)
    except BrokenPipeError:
        # The reader (`| head`) left early: not our error. Point stdout at /dev/null so
        # the interpreter's final flush does not print a traceback either.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
