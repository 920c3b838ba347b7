"""Acting commands: ``cancel JOB`` and ``close SESSION [--cancel]``, through a runtime.

On a store they go through the store's own runtime (``open_runtime``), whose rules refuse
a job or session another live process runs; against a server, through its API, which
answers another user's id as an unknown one.
"""

from __future__ import annotations

import argparse

from rich.console import Console

from ..core.job_record import FINAL_STATES
from ..errors import InvalidJobStateError
from .sources import actor

__all__ = ["cancel", "close"]


def cancel(args: argparse.Namespace, out: Console) -> None:
    """``qsession cancel JOB``: cancel a queued (or, where the device allows, running) job.

    Raises:
        JobNotFoundError: unknown id (or another user's job on a server).
        InvalidJobStateError: the job is final already, or its device cannot stop it.
        JobError: another process runs the job.
    """
    with actor(args) as runtime:
        if runtime.cancel_job(args.job):
            out.print(f"cancelled job {args.job}")
            return
        status = runtime.job(args.job).status
    if status in FINAL_STATES:
        raise InvalidJobStateError(f"job {args.job} is already {status.value}: nothing to cancel")
    raise InvalidJobStateError(f"job {args.job} is {status.value} and its device cannot stop it")


def close(args: argparse.Namespace, out: Console) -> None:
    """``qsession close SESSION [--cancel]``: stop accepting jobs (or cancel at once).

    Raises:
        SessionNotFoundError: unknown id (or another user's session on a server).
        SessionError: another process owns the session.
    """
    with actor(args) as runtime:
        if args.cancel:
            record = runtime.cancel_session(args.session)
        else:
            record = runtime.close_session(args.session)
    verb = "cancelled" if args.cancel else "closed"
    out.print(f"{verb} session {record.id}: now {record.state.value}")
