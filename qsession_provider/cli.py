"""``qsession``: look at the devices, plugins, sessions and jobs of a store from a shell.

    qsession devices                      # devices from the installed plugins
    qsession plugins                      # registered plugins
    qsession sessions [--limit N]         # sessions in the store, newest first
    qsession jobs [--session ID] [--pending] [--limit N]
    qsession store                        # where the store is

``--store PATH`` (or ``$QSESSION_STORE``) picks the store. Listing only reads the store:
it does not start a runtime, so it never runs, fails or sweeps anybody's jobs.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import datetime, timezone

from .core.job import FINAL_STATES, PENDING_STATES
from .core.store.protocol import JobQuery, SessionQuery
from .core.store.sqlite import SQLiteStore, resolve_store_path
from .errors import QSessionError

__all__ = ["main"]


def _when(ts: float | None) -> str:
    if ts is None:
        return "-"
    return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def _table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths)).rstrip()]
    lines += ["  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    return "\n".join(lines)


def _devices(_: argparse.Namespace) -> str:
    # Plugins (pluggy, the engine) load only for the commands that list them.
    from .plugins.manager import build_device_registry, get_plugin_manager

    registry = build_device_registry(get_plugin_manager())
    rows = [
        [
            d.name,
            str(d.num_qubits),
            str(d.slots),
            "simulator" if d.simulator else "qpu",
            d.description,
        ]
        for d in registry
    ]
    return _table(rows, ["device", "qubits", "slots", "kind", "description"])


def _plugins(_: argparse.Namespace) -> str:
    from .plugins.manager import get_plugin_manager  # lazily, as in _devices

    pm = get_plugin_manager()
    rows = [
        [name or "-", getattr(plugin, "__name__", type(plugin).__name__)]
        for name, plugin in pm.list_name_plugin()
    ]
    return _table(rows, ["plugin", "module"])


def _sessions(args: argparse.Namespace) -> str:
    store = SQLiteStore(args.store)
    try:
        records = store.query_sessions(SessionQuery(limit=args.limit))
    finally:
        store.close()
    rows = [
        [
            r.id,
            r.device,
            r.mode.value,
            r.state.value,
            r.failure_policy.value,
            _when(r.created_at),
            _when(r.closed_at),
            r.name,
        ]
        for r in records
    ]
    return _table(
        rows, ["session", "device", "mode", "state", "policy", "created", "closed", "name"]
    )


def _jobs(args: argparse.Namespace) -> str:
    statuses = PENDING_STATES if args.pending else (FINAL_STATES if args.final else None)
    store = SQLiteStore(args.store)
    try:
        records = store.query_jobs(
            JobQuery(session_id=args.session, statuses=statuses, limit=args.limit)
        )
    finally:
        store.close()
    rows = [
        [
            r.id,
            r.program_id,
            r.device,
            r.status.value,
            r.session_id or "-",
            _when(r.created_at),
            r.error_message or "",
        ]
        for r in records
    ]
    return _table(rows, ["job", "program", "device", "status", "session", "created", "error"])


def _store(args: argparse.Namespace) -> str:
    return resolve_store_path(args.store)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="qsession", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--store",
        default=None,
        help="store file (default: $QSESSION_STORE or the user data directory)",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("devices", help="devices from the installed plugins").set_defaults(fn=_devices)
    sub.add_parser("plugins", help="registered plugins").set_defaults(fn=_plugins)
    sessions = sub.add_parser("sessions", help="sessions in the store, newest first")
    sessions.add_argument("--limit", type=int, default=20)
    sessions.set_defaults(fn=_sessions)
    jobs = sub.add_parser("jobs", help="jobs in the store, newest first")
    jobs.add_argument("--session", default=None, help="only this session's jobs")
    state = jobs.add_mutually_exclusive_group()
    state.add_argument("--pending", action="store_true", help="only queued or running jobs")
    state.add_argument("--final", action="store_true", help="only finished jobs")
    jobs.add_argument("--limit", type=int, default=20)
    jobs.set_defaults(fn=_jobs)
    sub.add_parser("store", help="print where the store is").set_defaults(fn=_store)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``qsession`` command; returns the exit status."""
    args = _parser().parse_args(argv)
    if getattr(args, "limit", 1) is not None and getattr(args, "limit", 1) < 1:
        print("qsession: --limit must be at least 1", file=sys.stderr)
        return 2
    try:
        print(args.fn(args))
    except QSessionError as exc:
        print(f"qsession: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
