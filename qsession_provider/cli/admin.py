"""Commands of the store's administrator: ``serve``, ``token ...``, ``plugins``, ``store``."""

from __future__ import annotations

import argparse
import math
import time

from rich.console import Console

from ..core.calibrations import CalibrationSchedule
from ..core.store.postgres_open import is_postgres_url, open_store, redact_url
from ..core.store.sqlite import resolve_store_path
from ..core.user import TokenRecord, hash_token, new_token
from ..errors import InputError, QSessionError
from .render import simple_table, when

__all__ = ["serve", "token_create", "token_list", "token_revoke", "plugins", "store"]


def plugins(args: argparse.Namespace, out: Console) -> None:
    """``qsession plugins``: the registered plugins."""
    from ..plugins.manager import get_plugin_manager  # pluggy loads only for this command

    rows = [
        [name or "-", getattr(plugin, "__name__", type(plugin).__name__)]
        for name, plugin in get_plugin_manager().list_name_plugin()
    ]
    out.print(simple_table(["plugin", "module"], rows))


def store(args: argparse.Namespace, out: Console) -> None:
    """``qsession store``: where the store is (a PostgreSQL URL without its password)."""
    location = resolve_store_path(args.store)
    out.print(redact_url(location) if is_postgres_url(location) else location, soft_wrap=True)


def serve(args: argparse.Namespace, out: Console) -> None:
    """``qsession serve``: run the store's runtime as an HTTP service until SIGINT/SIGTERM."""
    if args.max_body < 1 or args.max_queued < 1:
        raise InputError("--max-body and --max-queued must be at least 1")
    if args.dask_slots is not None and args.dask is None:
        raise InputError("--dask-slots needs --dask")
    if not 0 <= args.port <= 65535:
        raise InputError(f"--port must be between 0 and 65535, got {args.port}")
    try:  # the ASGI stack loads only for this command
        from ..server.serve import serve as run
    except ImportError as exc:  # pragma: no cover - depends on the installed extras
        raise QSessionError(
            f"qsession serve needs the server extra (pip install 'qsession-provider[server]'): "
            f"{exc}"
        ) from None
    code = run(
        host=args.host,
        port=args.port,
        store=args.store,
        virtual_clock=args.virtual_clock,
        max_body=args.max_body,
        max_queued=args.max_queued,
        log_level=args.log_level,
        dask=args.dask,
        dask_slots=args.dask_slots,
        calibrations=calibration_schedules(args.calibrate),
    )
    if code:
        raise QSessionError(f"the server could not start on {args.host}:{args.port}")


def calibration_schedules(specs: list[str]) -> dict[str, CalibrationSchedule]:
    """``--calibrate DEVICE=EVERY/DURATION`` values as schedules.

    Raises:
        InputError: a value not of that form, or a bad period or duration (named).
    """
    schedules = {}
    for spec in specs:
        device, _, timing = spec.partition("=")
        every, _, duration = timing.partition("/")
        if not device or not every or not duration:
            raise InputError(
                f"--calibrate wants DEVICE=EVERY/DURATION (e.g. qpu=24h/10m), got {spec!r}"
            )
        schedules[device] = CalibrationSchedule(every=every, duration=duration)
    return schedules


def token_create(args: argparse.Namespace, out: Console) -> None:
    """``qsession token create NAME``: make a user's token and print it (once)."""
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
    db = open_store(args.store)
    try:
        db.add_token(record)
    finally:
        db.close()
    out.print(token, soft_wrap=True)


def token_list(args: argparse.Namespace, out: Console) -> None:
    """``qsession token list``: users and their instances (never the tokens)."""
    db = open_store(args.store, read_only=True)
    try:
        records = db.tokens()
    finally:
        db.close()
    rows = [
        [r.name, r.instance, f"{r.share:g}", "yes" if r.admin else "", when(r.created_at)]
        for r in records
    ]
    out.print(simple_table(["user", "instance", "share", "admin", "created"], rows))


def token_revoke(args: argparse.Namespace, out: Console) -> None:
    """``qsession token revoke NAME``: remove a user's token."""
    db = open_store(args.store)
    try:
        removed = db.remove_token(args.name)
    finally:
        db.close()
    if not removed:
        raise InputError(f"no token for user {args.name!r}")
    out.print(f"revoked the token of {args.name}")
