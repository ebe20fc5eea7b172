"""The command runner every session uses: timeouts that kill the whole tree, retries, masking.

``subprocess.run(timeout=)`` (and invoke's ``timeout=``) kill only the direct child and
then wait for the output pipe to close, which never happens while a grandchild holds it:
a ``pytest`` that started a server, a ``uv`` that spawned a build. Here every command
starts apart and, on timeout, its whole tree is stopped (:mod:`ci_tasks.core.process`
keeps how, on each platform) and we stop waiting for the pipe. Leftovers of a command
that exited on its own are cleaned up the same way, and so is a command running when
Ctrl-C, SIGTERM or SIGHUP arrives (:mod:`ci_tasks.core.signals`).
This module keeps the policy: which timeout applies, what is retried, what is shown.
"""

from __future__ import annotations

import collections
import dataclasses
import functools
import os
import shlex
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from ci_tasks.core import retry as retry_mod
from ci_tasks.core.actions import Output, default_output
from ci_tasks.core.errors import CommandFailed, CommandTimedOut, ToolMissingError
from ci_tasks.core.process import KILL_GRACE_SECONDS, NATIVE, ProcessOS, Tree, start_tree, stop_tree

if TYPE_CHECKING:
    import nox

# After the command exits, how long its output readers may take to drain the pipe.
_DRAIN_SECONDS = 2.0
_CHUNK = 65536
_WRITE_LOCK = threading.Lock()
_WAKE_SECONDS = 0.5
"""The longest a wait for a command's end sleeps in one go: an interrupt (Ctrl+C, which a
lock wait does not see on Windows) is handled within it. An end wakes the wait at once."""


@dataclasses.dataclass(frozen=True)
class Completed:
    """The outcome of a command that ran to the end."""

    command: tuple[str, ...]
    returncode: int
    tail: str
    """The last lines of combined output, masked."""
    stdout: str | None
    """The whole standard output, when it was captured (``capture_stdout=True``)."""
    duration: float
    attempts: int
    stalled: bool = False
    """Stopped by :meth:`Runner.run_parallel` for running far past the others' end."""

    @property
    def ok(self) -> bool:
        """Whether the command exited 0."""
        return self.returncode == 0


@dataclasses.dataclass
class _Attempt:
    returncode: int
    tail: str
    stdout: str | None
    timed_out: bool


@dataclasses.dataclass(frozen=True)
class Job:
    """One command of :meth:`Runner.run_parallel`: its argv, environment changes and label."""

    command: Sequence[str | os.PathLike[str]]
    env: Mapping[str, str | None] | None = None
    """Changes to the runner's environment (``None`` unsets a variable)."""
    label: str = ""
    """Put before each line of the command's output (``[1/2]``)."""


@dataclasses.dataclass(frozen=True)
class _Limit:
    """The timeout a command got when it started, and whether the deadline set it."""

    seconds: float
    by_deadline: bool


@dataclasses.dataclass(frozen=True)
class _Spawn:
    """How to start one command: argv, environment, folder, whether stdout is kept whole."""

    argv: tuple[str, ...]
    env: dict[str, str]
    cwd: Path | None
    capture_stdout: bool = False

    @property
    def shown(self) -> str:
        """The command as a shell would read it."""
        return shlex.join(self.argv)


class _AttemptFailedError(Exception):
    def __init__(self, attempt: _Attempt) -> None:
        super().__init__(attempt.returncode)
        self.attempt = attempt


@dataclasses.dataclass
class _Tries:
    """The attempts of one :meth:`Runner.run` call: what each runs, how many ran, the last limit."""

    spawn: _Spawn
    timeout: float | None
    stream: bool
    ok_codes: Sequence[int]
    retry_on: retry_mod.RetryOn | None
    count: int = 0
    limit: _Limit | None = None
    """The timeout the latest attempt got when it started."""

    def retry_reason(self, exc: Exception) -> str | None:
        """Why the attempt that raised *exc* is worth another, or ``None``."""
        if self.retry_on is None or not isinstance(exc, _AttemptFailedError):
            return None
        return self.retry_on.reason(exc.attempt.returncode, exc.attempt.tail)


@dataclasses.dataclass
class _Started:
    """A command started: its process, the threads draining its output, its tail."""

    argv: tuple[str, ...]
    tree: Tree
    readers: list[_Reader]
    tail: collections.deque[str]

    @property
    def process(self) -> subprocess.Popen[bytes]:
        """The command's own process."""
        return self.tree.process

    @property
    def shown(self) -> str:
        """The command as a shell would read it."""
        return shlex.join(self.argv)


class _Reader(threading.Thread):
    """Drains one pipe: streams complete lines live, keeps a bounded tail and, optionally, all."""

    def __init__(
        self,
        pipe: IO[bytes],
        *,
        output: Output | None,
        tail: collections.deque[str],
        keep_all: bool,
        label: str = "",
    ) -> None:
        super().__init__(daemon=True)
        self._fd = pipe.fileno()
        self._pipe = pipe
        self._output = output
        self._tail = tail
        self.keep_all = keep_all
        self._label = label
        self.chunks: list[bytes] = []

    def _emit(self, data: bytes) -> None:
        text = data.decode(errors="replace")
        for line in text.splitlines():
            self._tail.append(line)
        if self._output is not None:
            if self._label:  # commands running side by side: say whose each line is
                lines = text.splitlines(keepends=True)
                text = "".join(f"{self._label} {line}" for line in lines)
            with _WRITE_LOCK:  # whole lines, never two readers' lines interleaved
                self._output.write(text)

    def run(self) -> None:
        pending = b""
        try:
            while chunk := os.read(self._fd, _CHUNK):
                if self.keep_all:
                    self.chunks.append(chunk)
                    continue
                pending += chunk
                # Emit whole lines only: a secret split across two reads is still masked.
                cut = pending.rfind(b"\n")
                if cut >= 0:
                    self._emit(pending[: cut + 1])
                    pending = pending[cut + 1 :]
                elif len(pending) > _CHUNK:
                    self._emit(pending)
                    pending = b""
        except OSError:
            pass
        finally:
            if pending:
                self._emit(pending)
            self._pipe.close()


def session_venv(session: nox.Session) -> Path | None:
    """The nox session's virtual environment, or ``None`` for ``venv_backend="none"``."""
    try:
        location = getattr(session.virtualenv, "location", None)
    except ValueError:  # nox: "A virtualenv has not been created for this session"
        return None
    return Path(location) if location and session.bin_paths else None


def skips_installs(session: nox.Session) -> bool:
    """Whether nox skips this session's installs: ``-R`` / ``--no-install`` on a reused venv.

    The same test nox makes before ``session.install`` and ``session.run_install``
    (``global_config.no_install`` and the venv's ``_reused``): nox has no public name for
    it, so it is read here, once.
    """
    runner = getattr(session, "_runner", None)
    config = getattr(runner, "global_config", None)
    venv = getattr(runner, "venv", None)
    return bool(getattr(config, "no_install", False)) and bool(getattr(venv, "_reused", False))


def build_env(
    base: Mapping[str, str] | None, overrides: Mapping[str, str | None] | None
) -> dict[str, str]:
    """*base* (default: this process's environment) with *overrides*; ``None`` unsets."""
    env = dict(os.environ if base is None else base)
    for key, value in (overrides or {}).items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


class _Ends:
    """When each of some processes ended: a thread waits on each and wakes the watcher.

    The one way commands are waited for, one alone (:meth:`Runner.run`) or several side by
    side (:meth:`Runner.run_parallel`): the watcher learns of an end the moment it happens
    (``Popen.wait(timeout)`` polls with sleeps of up to 50 ms, so it notices ~25 ms late).
    """

    def __init__(self, processes: Sequence[subprocess.Popen[Any]]) -> None:
        self._changed = threading.Condition()
        self._ended: dict[int, float] = {}
        for index, process in enumerate(processes):
            name = f"ci-tasks-wait-{index}"
            waiter = threading.Thread(target=self._wait, args=(index, process), name=name)
            waiter.daemon = True
            waiter.start()

    def _wait(self, index: int, process: subprocess.Popen[Any]) -> None:
        process.wait()
        with self._changed:
            self._ended[index] = time.monotonic()
            self._changed.notify_all()

    def ended(self) -> dict[int, float]:
        """The processes that ended so far, by index, with the time each ended."""
        with self._changed:
            return dict(self._ended)

    def wait(self, more_than: int, timeout: float | None) -> None:
        """Until more than *more_than* processes have ended, or *timeout* seconds passed."""
        until = None if timeout is None else time.monotonic() + timeout
        with self._changed:
            while len(self._ended) <= more_than:
                left = _WAKE_SECONDS if until is None else until - time.monotonic()
                if left <= 0:
                    return
                self._changed.wait(min(left, _WAKE_SECONDS))


@dataclasses.dataclass(frozen=True, kw_only=True, eq=False)
class Runner:
    """Runs commands with a timeout, a retry policy and masked, live output.

    Make one with :meth:`for_session` inside a nox session (it uses the session's
    environment and ``bin`` directory) or directly from invoke tasks and plain Python.
    A runner may carry an overall ``deadline`` (a :func:`time.monotonic` value): every
    command's timeout is cut to what is left of it when the command starts.
    ``process_os`` is how commands are started and stopped (default: this platform's).
    An immutable value: :meth:`with_options` gives a changed copy.
    """

    env: dict[str, str] = dataclasses.field(default_factory=lambda: dict(os.environ))
    """The commands' environment (a copy is kept)."""
    cwd: Path | None = None
    """Where commands run (a ``str`` or path-like is taken as a :class:`~pathlib.Path`)."""
    output: Output = dataclasses.field(default_factory=default_output)
    timeout: float | None = None
    deadline: float | None = None
    retry: retry_mod.RetryPolicy = dataclasses.field(default_factory=retry_mod.RetryPolicy)
    clock: retry_mod.Clock = dataclasses.field(default_factory=retry_mod.SystemClock)
    tail_lines: int = 60
    kill_grace: float = KILL_GRACE_SECONDS
    process_os: ProcessOS = NATIVE

    def __post_init__(self) -> None:
        object.__setattr__(self, "env", dict(self.env))
        if self.cwd is not None:
            object.__setattr__(self, "cwd", Path(self.cwd))

    @classmethod
    def for_session(cls, session: nox.Session, **kwargs: Any) -> Runner:
        """A runner whose commands see the nox session's environment and venv first on PATH."""
        env = build_env(None, session.env)
        venv = session_venv(session)
        if venv is not None:
            env["PATH"] = os.pathsep.join([*(session.bin_paths or []), env.get("PATH", "")])
            env["VIRTUAL_ENV"] = str(venv)
        return cls(env=env, **kwargs)

    def with_options(self, **changes: Any) -> Runner:
        """A copy of this runner with some options changed (``TypeError`` for an unknown one)."""
        return dataclasses.replace(self, **changes)

    def which(self, program: str) -> str | None:
        """Where *program* is on this runner's PATH."""
        import shutil  # noqa: PLC0415 - rarely needed

        return shutil.which(program, path=self.env.get("PATH"))

    def _timeout_for(self, timeout: float | None) -> _Limit | None:
        """The timeout a command starting now gets: its own, or what is left of the deadline."""
        own = timeout if timeout is not None else self.timeout
        limit = _Limit(own, by_deadline=False) if own else None
        if self.deadline is not None:
            left = max(self.deadline - time.monotonic(), 0.001)
            if limit is None or left < limit.seconds:
                limit = _Limit(left, by_deadline=True)
        return limit

    def run(
        self,
        command: Sequence[str | os.PathLike[str]],
        *,
        timeout: float | None = None,
        retry_on: retry_mod.RetryOn | None = None,
        retry: retry_mod.RetryPolicy | None = None,
        ok_codes: Sequence[int] = (0,),
        check: bool = True,
        capture_stdout: bool = False,
        stream: bool = True,
        env: Mapping[str, str | None] | None = None,
        cwd: str | os.PathLike[str] | None = None,
    ) -> Completed:
        """Run *command*; raise :class:`CommandFailed` unless it exits with one of *ok_codes*.

        A failure is retried only when *retry_on* says it is worth it (by exit code or by
        output pattern), under *retry* (default: the runner's policy). A timeout is never
        retried: it raises :class:`CommandTimedOut` once the tree is dead. With
        ``capture_stdout`` standard output is kept whole (and not streamed) in
        :attr:`Completed.stdout`; standard error streams as usual. With ``check=False``
        a failing exit code is returned instead of raised.
        """
        spawn = _Spawn(
            tuple(os.fspath(part) for part in command),
            env=build_env(self.env, env),
            cwd=Path(cwd) if cwd is not None else self.cwd,
            capture_stdout=capture_stdout,
        )
        tries = _Tries(spawn, timeout=timeout, stream=stream, ok_codes=ok_codes, retry_on=retry_on)
        start = time.monotonic()
        result = self._retried(tries, retry or self.retry, check=check)
        limit = tries.limit
        if result.timed_out and limit is not None:
            raise CommandTimedOut(
                spawn.shown, limit.seconds, result.tail, by_deadline=limit.by_deadline
            )
        return Completed(
            command=spawn.argv,
            returncode=result.returncode,
            tail=result.tail,
            stdout=result.stdout,
            duration=time.monotonic() - start,
            attempts=tries.count,
        )

    def _retried(self, tries: _Tries, policy: retry_mod.RetryPolicy, *, check: bool) -> _Attempt:
        """The last of *tries* under *policy*; a failure raises :class:`CommandFailed` if *check*.

        Without ``retry_on`` there is nothing worth retrying, whatever *policy* says.
        """
        shown = tries.spawn.shown
        try:
            return retry_mod.call_with_retries(
                functools.partial(self._attempt, tries),
                policy=policy if tries.retry_on is not None else retry_mod.NO_RETRY,
                retryable=tries.retry_reason,
                log=lambda text: self.output.line(f"{shown}: {text}", "warning"),
                clock=self.clock,
            )
        except _AttemptFailedError as exc:
            if check:
                raise CommandFailed(shown, exc.attempt.returncode, exc.attempt.tail) from None
            return exc.attempt

    def _attempt(self, tries: _Tries) -> _Attempt:
        """One more of *tries*; an exit code not in its ``ok_codes`` raises, a timeout returns."""
        tries.count += 1
        tries.limit = self._timeout_for(tries.timeout)  # once, at the start: what the message names
        seconds = tries.limit.seconds if tries.limit else None
        result = self._run_once(tries.spawn, timeout=seconds, stream=tries.stream)
        if result.timed_out or result.returncode in tries.ok_codes:
            return result
        raise _AttemptFailedError(result)

    def run_parallel(
        self,
        jobs: Sequence[Job],
        *,
        timeout: float | None = None,
        stall_after: Callable[[float], float] | None = None,
    ) -> list[Completed]:
        """Run *jobs* side by side; each output line is prefixed with its job's label.

        Every command runs to its end (exit codes are returned, never raised: a caller
        running parts of one task judges them together). A timeout, an interrupt or any
        other exception stops every tree before it propagates; a timeout raises
        :class:`CommandTimedOut` naming the commands still running. *stall_after*, given
        the longest time a job that ended took, is how long past the start a job still
        running may go on once another has ended: one that goes past it is stopped and
        returned ``stalled`` (parts of one suite that wait on each other's resource, a
        fixed port, never end by themselves).
        """
        started: list[_Started] = []
        limit = self._timeout_for(timeout)
        begin = time.monotonic()
        ended: dict[int, float] = {}
        stalled: set[int] = set()
        timed_out = False
        try:
            for job in jobs:  # one by one: a failed start must still stop the others
                argv = tuple(os.fspath(part) for part in job.command)
                spawn = _Spawn(argv, env=build_env(self.env, job.env), cwd=self.cwd)
                started.append(self._start(spawn, sink=self.output, label=job.label))
            ends = _Ends([one.process for one in started])
            while True:
                seen = ends.ended()
                ended = {**seen, **ended}  # a stopped one keeps the time it was stopped
                if len(ended) == len(started):
                    break
                now = time.monotonic()
                waits = []
                if limit is not None:
                    waits.append(begin + limit.seconds - now)
                if ended and stall_after is not None:
                    waits.append(begin + stall_after(max(ended.values()) - begin) - now)
                    if waits[-1] <= 0:
                        stalled |= self._stop_running(started, ended)
                        continue
                if limit is not None and waits[0] <= 0:
                    timed_out = True
                    break
                ends.wait(len(seen), min(waits) if waits else None)
        finally:
            for one in started:
                stop_tree(one.tree, self.kill_grace)
        attempts = [self._collect(one, timed_out=timed_out) for one in started]
        if timed_out:
            running = [one.shown for i, one in enumerate(started) if i not in ended]
            tail = "\n".join(a.tail for a in attempts)
            seconds, by_deadline = (limit.seconds, limit.by_deadline) if limit else (0.0, False)
            raise CommandTimedOut(" & ".join(running), seconds, tail, by_deadline=by_deadline)
        return [
            Completed(one.argv, a.returncode, a.tail, None, ended[i] - begin, 1, i in stalled)
            for i, (one, a) in enumerate(zip(started, attempts, strict=True))
        ]

    def _stop_running(self, started: Sequence[_Started], ended: dict[int, float]) -> set[int]:
        """Stop every job not yet ended (marking it ended now); their indexes."""
        stopped = set()
        for index, one in enumerate(started):
            if index not in ended:
                stop_tree(one.tree, self.kill_grace)
                stopped.add(index)
                ended[index] = time.monotonic()
        return stopped

    def _start(self, spawn: _Spawn, *, sink: Output | None, label: str = "") -> _Started:
        argv, cwd, capture_stdout = spawn.argv, spawn.cwd, spawn.capture_stdout
        try:
            tree = start_tree(
                argv,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE if capture_stdout else subprocess.STDOUT,
                env=spawn.env,
                cwd=cwd,
                system=self.process_os,
            )
        except FileNotFoundError:
            where = f" in {cwd}" if cwd and not cwd.is_dir() else ""
            msg = f"`{argv[0]}` was not found{where}; is it installed and on PATH?"
            raise ToolMissingError(msg) from None
        process = tree.process
        tail: collections.deque[str] = collections.deque(maxlen=self.tail_lines)
        assert process.stdout is not None  # noqa: S101 - guaranteed by stdout=PIPE
        readers = [
            _Reader(process.stdout, output=sink, tail=tail, keep_all=capture_stdout, label=label)
        ]
        if capture_stdout:
            assert process.stderr is not None  # noqa: S101 - guaranteed by stderr=PIPE
            readers.append(_Reader(process.stderr, output=sink, tail=tail, keep_all=False))
        for reader in readers:
            reader.start()
        return _Started(argv, tree, readers, tail)

    def _collect(self, started: _Started, *, timed_out: bool) -> _Attempt:
        """The attempt of a command whose tree is already stopped."""
        for reader in started.readers:
            # A process that escaped the stop may still hold the pipe: we stop
            # waiting for it rather than hang; the daemon reader dies with us.
            reader.join(_DRAIN_SECONDS)
        stdout = None
        if started.readers[0].keep_all:
            chunks = started.readers[0].chunks
            stdout = self.output.masker.mask(b"".join(chunks).decode(errors="replace"))
            started.tail.extend(stdout.splitlines()[-self.tail_lines :])
        return _Attempt(
            returncode=started.process.returncode,
            tail=self.output.masker.mask("\n".join(started.tail)),
            stdout=stdout,
            timed_out=timed_out,
        )

    def _run_once(self, spawn: _Spawn, *, timeout: float | None, stream: bool) -> _Attempt:
        started = self._start(spawn, sink=self.output if stream else None)
        timed_out = False
        try:
            timed_out = not _ended_within(started.process, timeout)
        finally:
            # Kill the tree on timeout, and whatever the command left behind otherwise.
            stop_tree(started.tree, self.kill_grace)
        return self._collect(started, timed_out=timed_out)


def _ended_within(process: subprocess.Popen[Any], timeout: float | None) -> bool:
    """Wait for *process* to end, at most *timeout* seconds; whether it ended."""
    ends = _Ends([process])
    ends.wait(0, timeout)
    return bool(ends.ended())


def run(command: Sequence[str | os.PathLike[str]], **kwargs: Any) -> Completed:
    """Run *command* with a default :class:`Runner` (see :meth:`Runner.run`)."""
    return Runner().run(command, **kwargs)
