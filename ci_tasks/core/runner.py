"""The command runner every session uses: timeouts that kill the whole tree, retries, masking.

``subprocess.run(timeout=)`` (and invoke's ``timeout=``) kill only the direct child and
then wait for the output pipe to close, which never happens while a grandchild holds it:
a ``pytest`` that started a server, a ``uv`` that spawned a build. Here every command
runs in a new session (its own process group); on timeout the whole group gets SIGTERM,
then SIGKILL after a grace period, and we stop waiting for the pipe. Leftovers of a
command that exited on its own are cleaned up the same way.

That same cleanup is what stops a run on Ctrl-C: :func:`handle_termination_signals`
makes SIGTERM and SIGHUP raise :class:`~ci_tasks.core.errors.Interrupted` (a
``KeyboardInterrupt``) too, so they take the path Ctrl-C takes.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import os
import shlex
import signal
import subprocess
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from ci_tasks.core import retry as retry_mod
from ci_tasks.core.actions import Output, default_output
from ci_tasks.core.errors import CommandFailed, CommandTimedOut, Interrupted, ToolMissingError

if TYPE_CHECKING:
    import nox

KILL_GRACE_SECONDS = 1.0
# After the command exits, how long its output readers may take to drain the pipe.
_DRAIN_SECONDS = 2.0
_CHUNK = 65536
_WRITE_LOCK = threading.Lock()
_POLL_SECONDS = 0.02


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


class _AttemptFailedError(Exception):
    def __init__(self, attempt: _Attempt) -> None:
        super().__init__(attempt.returncode)
        self.attempt = attempt


TERMINATION_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
"""Handled alike: the running command's tree is stopped, then :class:`Interrupted` is raised."""

# A signal that arrives while a tree is being stopped waits until it is (see _deferred).
# Re-entrant: the handler runs in the main thread, maybe while that thread holds it.
_defer_lock = threading.RLock()
_defer_depth = 0
_deferred: int | None = None


def _on_termination(signum: int, frame: object) -> None:  # noqa: ARG001 - signal handler API
    global _deferred  # noqa: PLW0603 - one process-wide signal state
    with _defer_lock:
        if _defer_depth:
            _deferred = signum
            return
    raise Interrupted(signum)


@contextlib.contextmanager
def deferred_signals() -> Iterator[None]:
    """Hold termination signals back while a tree is stopped; deliver them afterwards.

    A second SIGTERM (the Actions runner sends one after its SIGINT) must not cut the
    first one's cleanup short and leave half a tree running.
    """
    global _defer_depth, _deferred  # noqa: PLW0603 - one process-wide signal state
    with _defer_lock:
        _defer_depth += 1
    try:
        yield
    finally:
        with _defer_lock:
            _defer_depth -= 1
            pending = _deferred if _defer_depth == 0 else None
            if pending is not None:
                _deferred = None
        if pending is not None:
            signal.raise_signal(pending)


def handle_termination_signals() -> None:
    """Make SIGTERM and SIGHUP stop a run the way Ctrl-C does.

    Without this, SIGTERM (GitLab, Jenkins, ``docker stop``, Kubernetes, ``timeout``, the
    Actions runner after a cancel) ends the Python process at once and every command it
    started keeps running in its own session. With it, SIGINT, SIGTERM and SIGHUP raise
    :class:`~ci_tasks.core.errors.Interrupted` in the main thread: the running command's
    tree gets SIGTERM, then SIGKILL after the grace period, and the entry point exits
    128 + the signal's number. A signal the process was told to ignore (``nohup``, a
    background job's SIGINT) stays ignored; a handler someone else installed is kept.
    Only the main thread can install handlers; elsewhere this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        return
    for signum in TERMINATION_SIGNALS:
        current = signal.getsignal(signum)
        ours = current is _on_termination
        default = current is signal.default_int_handler or current == signal.SIG_DFL
        if not ours and default:
            signal.signal(signum, _on_termination)


def _process_table() -> list[tuple[int, int, int]] | None:
    """``(pid, ppid, pgid)`` of every live process (zombies left out); ``None`` without /proc."""
    proc = Path("/proc")
    if not proc.is_dir():
        return None
    table = []
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # Fields after the command name, which is in parentheses and may hold spaces.
        fields = stat[stat.rfind(")") + 2 :].split()
        if fields[0] != "Z":
            table.append((int(entry.name), int(fields[1]), int(fields[2])))
    return table


def _tree_groups(pid: int) -> set[int]:
    """The process groups of *pid* and of all its descendants, in whatever session.

    A command may start children in sessions of their own (ci_tasks under ci_tasks: the
    pre-push hook runs nox, which runs pytest), which its group's signal would miss.
    """
    groups = {pid}
    table = _process_table()
    if table is None:
        return groups
    children: dict[int, list[tuple[int, int]]] = collections.defaultdict(list)
    for child, parent, pgid in table:
        children[parent].append((child, pgid))
    todo = [pid]
    while todo:
        for child, pgid in children.get(todo.pop(), []):
            groups.add(pgid)
            todo.append(child)
    return groups


def _groups_alive(pgids: set[int]) -> bool:
    """Whether any process of the groups *pgids* is still running (zombies do not count)."""
    table = _process_table()
    if table is not None:
        return any(pgid in pgids for _, _, pgid in table)
    for pgid in pgids:
        try:
            os.killpg(pgid, 0)
        except (ProcessLookupError, PermissionError):
            continue
        return True
    return False


def _signal_groups(pgids: set[int], signum: int) -> bool:
    """Send *signum* to every group of *pgids*; whether any of them existed."""
    sent = False
    for pgid in pgids:
        try:
            os.killpg(pgid, signum)
        except (ProcessLookupError, PermissionError):
            continue
        sent = True
    return sent


def kill_tree(process: subprocess.Popen[bytes], grace: float = KILL_GRACE_SECONDS) -> None:
    """SIGTERM the process tree of *process*, then SIGKILL what is left after *grace*.

    The tree is the process's group and, while the process still runs, the groups of
    all its descendants. Termination signals arriving meanwhile wait until it is done.
    """
    with deferred_signals():
        pgids = _tree_groups(process.pid) if process.poll() is None else {process.pid}
        pgids.discard(os.getpgrp())  # never our own group, whatever a descendant did
        if not _signal_groups(pgids, signal.SIGTERM):
            process.wait()
            return
        end = time.monotonic() + grace
        while time.monotonic() < end:
            process.poll()
            if not _groups_alive(pgids):
                break
            time.sleep(0.02)
        else:
            _signal_groups(pgids, signal.SIGKILL)
        process.wait()


@dataclasses.dataclass
class _Started:
    """A command started: its process, the threads draining its output, its tail."""

    argv: tuple[str, ...]
    process: subprocess.Popen[bytes]
    readers: list[_Reader]
    tail: collections.deque[str]

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


class Runner:
    """Runs commands with a timeout, a retry policy and masked, live output.

    Make one with :meth:`for_session` inside a nox session (it uses the session's
    environment and ``bin`` directory) or directly from invoke tasks and plain Python.
    A runner may carry an overall ``deadline`` (a :func:`time.monotonic` value): every
    command's timeout is cut to what is left of it.
    """

    def __init__(
        self,
        *,
        env: Mapping[str, str] | None = None,
        cwd: str | os.PathLike[str] | None = None,
        output: Output | None = None,
        timeout: float | None = None,
        deadline: float | None = None,
        retry: retry_mod.RetryPolicy | None = None,
        clock: retry_mod.Clock | None = None,
        tail_lines: int = 60,
        kill_grace: float = KILL_GRACE_SECONDS,
    ) -> None:
        self.env = dict(os.environ if env is None else env)
        self.cwd = Path(cwd) if cwd is not None else None
        self.output = output or default_output()
        self.timeout = timeout
        self.deadline = deadline
        self.retry = retry or retry_mod.RetryPolicy()
        self.clock = clock or retry_mod.SystemClock()
        self.tail_lines = tail_lines
        self.kill_grace = kill_grace

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
        """A copy of this runner with some options changed."""
        new = object.__new__(Runner)
        new.__dict__.update(self.__dict__)
        for key, value in changes.items():
            if key not in new.__dict__:
                msg = f"Runner has no option {key!r}"
                raise TypeError(msg)
            setattr(new, key, value)
        return new

    def which(self, program: str) -> str | None:
        """Where *program* is on this runner's PATH."""
        import shutil  # noqa: PLC0415 - rarely needed

        return shutil.which(program, path=self.env.get("PATH"))

    def _timeout_for(self, timeout: float | None) -> float | None:
        candidates = [t for t in (timeout if timeout is not None else self.timeout,) if t]
        if self.deadline is not None:
            candidates.append(max(self.deadline - time.monotonic(), 0.001))
        return min(candidates) if candidates else None

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
        argv = tuple(os.fspath(part) for part in command)
        shown = shlex.join(argv)
        full_env = build_env(self.env, env)
        workdir = Path(cwd) if cwd is not None else self.cwd
        policy = retry or self.retry
        if retry_on is None:
            policy = retry_mod.NO_RETRY
        attempts = 0
        start = time.monotonic()

        def once() -> _Attempt:
            nonlocal attempts
            attempts += 1
            result = self._run_once(
                argv,
                env=full_env,
                cwd=workdir,
                timeout=self._timeout_for(timeout),
                stream=stream,
                capture_stdout=capture_stdout,
            )
            if result.timed_out or result.returncode in ok_codes:
                return result
            raise _AttemptFailedError(result)

        def retryable(exc: Exception) -> str | None:
            if retry_on is None or not isinstance(exc, _AttemptFailedError):
                return None
            return retry_on.reason(exc.attempt.returncode, exc.attempt.tail)

        try:
            result = retry_mod.call_with_retries(
                once,
                policy=policy,
                retryable=retryable,
                log=lambda text: self.output.line(f"{shown}: {text}", "warning"),
                clock=self.clock,
            )
        except _AttemptFailedError as exc:
            result = exc.attempt
            if check:
                raise CommandFailed(shown, result.returncode, result.tail) from None
        if result.timed_out:
            effective = self._timeout_for(timeout) or 0.0
            raise CommandTimedOut(shown, effective, result.tail)
        return Completed(
            command=argv,
            returncode=result.returncode,
            tail=result.tail,
            stdout=result.stdout,
            duration=time.monotonic() - start,
            attempts=attempts,
        )

    def run_parallel(self, jobs: Sequence[Job], *, timeout: float | None = None) -> list[Completed]:
        """Run *jobs* side by side; each output line is prefixed with its job's label.

        Every command runs to its end (exit codes are returned, never raised: a caller
        running parts of one task judges them together). A timeout, an interrupt or any
        other exception stops every tree before it propagates; a timeout raises
        :class:`CommandTimedOut` naming the commands still running.
        """
        started: list[_Started] = []
        limit = self._timeout_for(timeout)
        begin = time.monotonic()
        ended: dict[int, float] = {}
        timed_out = False
        try:
            for job in jobs:  # one by one: a failed start must still stop the others
                started.append(  # noqa: PERF401
                    self._start(
                        tuple(os.fspath(part) for part in job.command),
                        env=build_env(self.env, job.env),
                        cwd=self.cwd,
                        sink=self.output,
                        capture_stdout=False,
                        label=job.label,
                    )
                )
            while len(ended) < len(started):
                for index, one in enumerate(started):
                    if index not in ended and one.process.poll() is not None:
                        ended[index] = time.monotonic()
                if limit is not None and time.monotonic() - begin > limit:
                    timed_out = True
                    break
                time.sleep(_POLL_SECONDS)
        finally:
            for one in started:
                kill_tree(one.process, self.kill_grace)
        attempts = [self._collect(one, timed_out=timed_out) for one in started]
        if timed_out:
            running = [one.shown for i, one in enumerate(started) if i not in ended]
            tail = "\n".join(a.tail for a in attempts)
            raise CommandTimedOut(" & ".join(running), limit or 0.0, tail)
        return [
            Completed(one.argv, a.returncode, a.tail, None, ended[i] - begin, 1)
            for i, (one, a) in enumerate(zip(started, attempts, strict=True))
        ]

    def _start(
        self,
        argv: tuple[str, ...],
        *,
        env: dict[str, str],
        cwd: Path | None,
        sink: Output | None,
        capture_stdout: bool,
        label: str = "",
    ) -> _Started:
        try:
            process = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE if capture_stdout else subprocess.STDOUT,
                env=env,
                cwd=cwd,
                start_new_session=True,
            )
        except FileNotFoundError:
            where = f" in {cwd}" if cwd and not cwd.is_dir() else ""
            msg = f"`{argv[0]}` was not found{where}; is it installed and on PATH?"
            raise ToolMissingError(msg) from None
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
        return _Started(argv, process, readers, tail)

    def _collect(self, started: _Started, *, timed_out: bool) -> _Attempt:
        """The attempt of a command whose tree is already stopped."""
        for reader in started.readers:
            # A process that escaped the group (setsid) may still hold the pipe: we stop
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

    def _run_once(
        self,
        argv: tuple[str, ...],
        *,
        env: dict[str, str],
        cwd: Path | None,
        timeout: float | None,
        stream: bool,
        capture_stdout: bool,
    ) -> _Attempt:
        sink = self.output if stream else None
        started = self._start(argv, env=env, cwd=cwd, sink=sink, capture_stdout=capture_stdout)
        timed_out = False
        try:
            started.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
        finally:
            # Kill the tree on timeout, and whatever the command left behind otherwise.
            kill_tree(started.process, self.kill_grace)
        return self._collect(started, timed_out=timed_out)


def run(command: Sequence[str | os.PathLike[str]], **kwargs: Any) -> Completed:
    """Run *command* with a default :class:`Runner` (see :meth:`Runner.run`)."""
    return Runner().run(command, **kwargs)
