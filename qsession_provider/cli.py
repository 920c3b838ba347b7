"""``qsession``: look at the devices, plugins, sessions and jobs of a store from a shell.

    qsession devices                      # devices from the installed plugins
    qsession plugins                      # registered plugins
    qsession sessions [--limit N]         # sessions in the store, newest first
    qsession jobs [--session ID] [--pending] [--limit N]
    qsession store                        # where the store is
    qsession serve [--host H] [--port P] [--virtual-clock] [--max-body B] [--max-queued N]
    qsession token create NAME --instance I [--share N] [--admin]
    qsession token list
    qsession token revoke NAME

``--store PATH`` (or ``$QSESSION_STORE``) picks the store. Listing only reads the store:
it does not start a runtime, so it never runs, fails or sweeps anybody's jobs. ``serve``
runs the store's runtime as a service (``qsession_provider.server``; needs the ``server``
extra) until SIGINT or SIGTERM; ``token`` manages its users (the store keeps only a hash
of each token, which is printed once).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Sequence
from datetime import datetime, timezone

from .core.job import FINAL_STATES, PENDING_STATES
from .core.store.protocol import JobQuery, SessionQuery
from .core.store.sqlite import SQLiteStore, resolve_store_path
from .core.user import TokenRecord, hash_token, new_token
from .errors import InputError, QSessionError

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


def _serve(args: argparse.Namespace) -> None:
    if args.max_body < 1 or args.max_queued < 1:
        raise InputError("--max-body and --max-queued must be at least 1")
    if not 0 <= args.port <= 65535:
        raise InputError(f"--port must be between 0 and 65535, got {args.port}")
    try:  # the ASGI stack loads only for this command
        from .server.serve import serve
    except ImportError as exc:  # pragma: no cover - depends on the installed extras
        raise QSessionError(
            f"qsession serve needs the server extra (pip install 'qsession-provider[server]'): "
            f"{exc}"
        ) from None
    code = serve(
        host=args.host,
        port=args.port,
        store=args.store,
        virtual_clock=args.virtual_clock,
        max_body=args.max_body,
        max_queued=args.max_queued,
        log_level=args.log_level,
    )
    if code:
        raise QSessionError(f"the server could not start on {args.host}:{args.port}")


def _token_create(args: argparse.Namespace) -> str:
    if not args.name.strip() or args.name != args.name.strip():
        raise InputError(
            f"a user name must be non-empty, without surrounding spaces: {args.name!r}"
        )
    if not (math.isfinite(args.share) and args.share > 0):
        raise InputError(f"--share must be a number > 0, got {args.share}")
    token = new_token()
    record = TokenRecord(
        name=args.name,
        token_hash=hash_token(token),
        instance=args.instance,
        share=args.share,
        admin=args.admin,
        created_at=time.time(),
    )
    store = SQLiteStore(args.store)
    try:
        store.add_token(record)
    finally:
        store.close()
    return token


def _token_list(args: argparse.Namespace) -> str:
    store = SQLiteStore(args.store)
    try:
        records = store.tokens()
    finally:
        store.close()
    rows = [
        [r.name, r.instance, f"{r.share:g}", "yes" if r.admin else "", _when(r.created_at)]
        for r in records
    ]
    return _table(rows, ["user", "instance", "share", "admin", "created"])


def _token_revoke(args: argparse.Namespace) -> str:
    store = SQLiteStore(args.store)
    try:
        removed = store.remove_token(args.name)
    finally:
        store.close()
    if not removed:
        raise InputError(f"no token for user {args.name!r}")
    return f"revoked the token of {args.name}"


def _store_option(parser: argparse.ArgumentParser) -> None:
    """``--store`` after the command too (the value before it stays unless given again)."""
    parser.add_argument("--store", default=argparse.SUPPRESS, help="store file")


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
    serve = sub.add_parser("serve", help="run the store's runtime as an HTTP service")
    serve.add_argument("--host", default="127.0.0.1", help="interface (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8765, help="TCP port (0: a free one)")
    serve.add_argument(
        "--virtual-clock",
        action="store_true",
        help="run on a virtual clock that administrators can advance (for tests)",
    )
    serve.add_argument(
        "--max-body", type=int, default=64 * 2**20, help="largest request body in bytes"
    )
    serve.add_argument(
        "--max-queued", type=int, default=10_000, help="most queued or running jobs per user"
    )
    serve.add_argument(
        "--log-level",
        default="info",
        choices=["critical", "error", "warning", "info", "debug"],
        help="debug logs one line per request",
    )
    _store_option(serve)
    serve.set_defaults(fn=_serve)
    token = sub.add_parser("token", help="users of the service: create, list, revoke tokens")
    tokens = token.add_subparsers(dest="token_command", required=True)
    create = tokens.add_parser("create", help="make a user's token (printed once)")
    create.add_argument("name", help="the user name")
    create.add_argument("--instance", required=True, help="instance the user's jobs charge")
    create.add_argument("--share", type=float, default=1.0, help="the instance's fair share")
    create.add_argument("--admin", action="store_true", help="an administrator")
    _store_option(create)
    create.set_defaults(fn=_token_create)
    listing = tokens.add_parser("list", help="users and their instances (never the tokens)")
    _store_option(listing)
    listing.set_defaults(fn=_token_list)
    revoke = tokens.add_parser("revoke", help="remove a user's token")
    revoke.add_argument("name", help="the user name")
    _store_option(revoke)
    revoke.set_defaults(fn=_token_revoke)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``qsession`` command; returns the exit status."""
    args = _parser().parse_args(argv)
    if getattr(args, "limit", 1) is not None and getattr(args, "limit", 1) < 1:
        print("qsession: --limit must be at least 1", file=sys.stderr)
        return 2
    try:
        out = args.fn(args)
        if out is not None:
            print(out)
    except QSessionError as exc:
        print(f"qsession: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
