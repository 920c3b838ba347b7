"""SIGTERM stops a process that embeds a runtime the way Ctrl-C does: by unwinding.

The default action of SIGTERM (what ``kill``, ``docker stop`` and systemd send) ends the
process at once: the results still waiting in a store's write-behind queue are lost, and the
jobs the process ran are later marked ``orphaned``. When a runtime on a file store is created
in the main thread and SIGTERM still has its default action, :func:`install_sigterm_handler`
replaces it with a handler that raises ``SystemExit(128 + SIGTERM)`` (exit status 143, what
a shell reports for a process killed by SIGTERM) in the main thread. The interpreter then
unwinds and exits normally: the runtimes shut down (their unfinished jobs end ``shutdown``)
and the stores commit what waits. The handler puts the default action back first, so a
second SIGTERM kills at once.

A handler the application set (or ``SIG_IGN``) is never replaced; to keep the default action,
set ``signal.signal(signal.SIGTERM, signal.SIG_DFL)`` after creating the runtime. SIGKILL and
power loss cannot be caught: what a store commits then is described in its module.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType

__all__ = ["install_sigterm_handler", "exit_on_sigterm"]


def exit_on_sigterm(signum: int, frame: FrameType | None) -> None:
    """The handler: restore the default action, then raise ``SystemExit(128 + signum)``."""
    signal.signal(signum, signal.SIG_DFL)
    raise SystemExit(128 + signum)


def install_sigterm_handler() -> bool:
    """Install :func:`exit_on_sigterm` for SIGTERM if it has its default action.

    Only the main thread can set signal handlers: elsewhere this does nothing.

    Returns:
        True if the handler is (now or already) installed.
    """
    if threading.current_thread() is not threading.main_thread():
        return False
    current = signal.getsignal(signal.SIGTERM)
    if current is exit_on_sigterm:
        return True
    if current is not signal.SIG_DFL:
        return False
    signal.signal(signal.SIGTERM, exit_on_sigterm)
    return True
