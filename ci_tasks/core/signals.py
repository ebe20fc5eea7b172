"""Termination signals stop a run the way Ctrl-C does, on every platform.

SIGTERM and SIGHUP (Windows: Ctrl-Break's SIGBREAK), where the platform has them, raise
:class:`~ci_tasks.core.errors.Interrupted`, a ``KeyboardInterrupt``, in the main thread,
so they take the path Ctrl-C takes: the runner stops the running command's tree
(:func:`ci_tasks.core.process.stop_tree`) and the entry point exits 128 + the number.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator

from ci_tasks.core.errors import Interrupted

TERMINATION_SIGNALS = tuple(
    getattr(signal, name)
    for name in ("SIGINT", "SIGTERM", "SIGHUP", "SIGBREAK")
    if hasattr(signal, name)
)
"""Handled alike: the running command's tree is stopped, then :class:`Interrupted` is raised.

SIGHUP exists on POSIX only, SIGBREAK (Ctrl-Break, how a parent asks a Windows console
process to stop) on Windows only.
"""


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
    started keeps running apart. With it, each of :data:`TERMINATION_SIGNALS` raises
    :class:`~ci_tasks.core.errors.Interrupted` in the main thread: the running command's
    tree is stopped (:func:`~ci_tasks.core.process.stop_tree`) and the entry point exits
    128 + the signal's number. A signal the process was told to ignore (``nohup``, a
    background job's SIGINT) stays ignored; a handler someone else installed is kept. Only
    the main thread can install handlers; elsewhere this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        return
    for signum in TERMINATION_SIGNALS:
        current = signal.getsignal(signum)
        ours = current is _on_termination
        default = current is signal.default_int_handler or current == signal.SIG_DFL
        if not ours and default:
            signal.signal(signum, _on_termination)
