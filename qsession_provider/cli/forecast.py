"""``qsession forecast script.py``: run a workload once, see its cost in each mode.

    qsession forecast vqe.py [--think-time S] [--prices prices.toml | --per-second X
        --per-shot Y --per-task Z --currency C] [--modes session,batch,job]
        [--scenario faults.toml] [--interactive-ttl S] [-- script arguments...]

The script runs unchanged on a virtual clock against the emulated QPUs (its faces must not
pick a ``store=``, ``clock=`` or ``url=``); see :mod:`qsession_provider.forecast`. A prices
file is TOML with ``per_second``, ``per_shot``, ``per_task`` and ``currency``.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rich.console import Console

from ..errors import InputError

__all__ = ["add_parser", "run"]


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``forecast`` on the ``qsession`` parser."""
    cmd = sub.add_parser(
        "forecast", help="run a workload on a virtual clock; its usage and cost per mode"
    )
    cmd.add_argument("script", help="the workload, a Python script (run unchanged)")
    cmd.add_argument(
        "script_args", nargs="*", help="the script's arguments (after --: ... script.py -- -v)"
    )
    cmd.add_argument(
        "--think-time",
        type=float,
        default=None,
        metavar="S",
        help="seconds of classical work between jobs (default: as measured)",
    )
    cmd.add_argument("--prices", default=None, metavar="FILE", help="a TOML price table")
    for name in ("per-second", "per-shot", "per-task"):
        cmd.add_argument(f"--{name}", type=float, default=None, metavar="PRICE")
    cmd.add_argument("--currency", default=None)
    cmd.add_argument(
        "--modes", default="session,batch,job", help="modes to compare (default: all three)"
    )
    cmd.add_argument("--scenario", default=None, metavar="FILE", help="faults on every replay")
    cmd.add_argument(
        "--interactive-ttl", type=float, default=None, metavar="S", help="a session's window"
    )
    cmd.set_defaults(fn=run)


def run(args: argparse.Namespace, out: Console) -> None:
    """The command: forecast, then print the table."""
    from ..faults import load_scenario
    from ..forecast import forecast

    faults = load_scenario(args.scenario) if args.scenario else []
    options = {} if args.interactive_ttl is None else {"interactive_ttl": args.interactive_ttl}
    script_args = list(args.script_args)
    result = forecast(
        args.script,
        argv=script_args,
        think_time=args.think_time,
        prices=_prices(args),
        modes=[m.strip() for m in args.modes.split(",") if m.strip()],
        faults=faults,
        session_options=options,
    )
    out.print(result.table(), markup=False, highlight=False)


def _prices(args: argparse.Namespace) -> dict[str, Any] | None:
    table: dict[str, Any] = {}
    if args.prices:
        from ..faults.scenario import parse_toml

        try:
            text = Path(args.prices).read_text(encoding="utf-8")
        except OSError as exc:
            raise InputError(f"cannot read prices file {args.prices}: {exc.strerror}") from None
        table = parse_toml(text, args.prices)
    for key in ("per_second", "per_shot", "per_task", "currency"):
        value = getattr(args, key)
        if value is not None:
            table[key] = value
    return table or None
