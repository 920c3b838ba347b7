"""The ``qsession`` argument parser: one sub-command per function of the command modules."""

from __future__ import annotations

import argparse

from . import acting, admin, files, forecast, ibm_account, listing

__all__ = ["build_parser"]

_STATUSES = ["queued", "running", "done", "error", "cancelled"]
_STATES = ["open", "active", "inactive", "draining", "closed"]


def _where(parser: argparse.ArgumentParser, *, remote: bool = True) -> None:
    """``--store`` (and ``--url``/``--token``) after the command too; given before it, the
    value stays unless given again."""
    parser.add_argument(
        "--store", default=argparse.SUPPRESS, help="store file or postgresql:// URL"
    )
    if remote:
        parser.add_argument("--url", default=argparse.SUPPRESS, help="server URL")
        parser.add_argument("--token", default=argparse.SUPPRESS, help="token for --url")


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def build_parser(doc: str) -> argparse.ArgumentParser:
    """The parser (help from the package docstring ``doc``); each sub-command sets
    ``fn(args, console)``."""
    first, _, rest = doc.replace("``", "").partition("\n")
    parser = argparse.ArgumentParser(
        prog="qsession",
        description=first,
        epilog=rest.strip("\n"),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--store",
        default=None,
        help="store file or postgresql:// URL (default: $QSESSION_STORE or the data dir)",
    )
    parser.add_argument("--url", default=None, help="a server's URL (default: $QSESSION_URL)")
    parser.add_argument("--token", default=None, help="token for --url ($QSESSION_TOKEN)")
    sub = parser.add_subparsers(dest="command", required=True)

    jobs = sub.add_parser("jobs", help="jobs, newest first")
    jobs.add_argument("--session", default=None, help="only this session's jobs")
    jobs.add_argument("--device", default=None, help="only jobs on this device")
    state = jobs.add_mutually_exclusive_group()
    state.add_argument("--pending", action="store_true", help="only queued or running jobs")
    state.add_argument("--final", action="store_true", help="only finished jobs")
    state.add_argument("--status", choices=_STATUSES, type=str.lower, help="only this status")
    jobs.add_argument("--limit", type=_positive, default=20)
    jobs.set_defaults(fn=listing.jobs)

    sessions = sub.add_parser("sessions", help="sessions and batches, newest first")
    sessions.add_argument("--device", default=None, help="only sessions on this device")
    sessions.add_argument("--state", choices=_STATES, type=str.lower, help="only this state")
    sessions.add_argument("--limit", type=_positive, default=20)
    sessions.set_defaults(fn=listing.sessions)

    devices = sub.add_parser("devices", help="devices, their queues and who holds them")
    devices.set_defaults(fn=listing.devices)

    show = sub.add_parser("show", help="a job's or a session's details")
    show.add_argument("id", help="a job id or a session id")
    show.set_defaults(fn=listing.show)

    cancel = sub.add_parser("cancel", help="cancel a job")
    cancel.add_argument("job", help="the job id")
    cancel.set_defaults(fn=acting.cancel)

    close = sub.add_parser("close", help="close a session (its jobs finish) or cancel it")
    close.add_argument("session", help="the session id")
    close.add_argument(
        "--cancel", action="store_true", help="cancel at once: queued jobs fail, running finish"
    )
    close.set_defaults(fn=acting.close)

    timeline = sub.add_parser("timeline", help="draw a session's timeline to an image file")
    timeline.add_argument("session", help="the session id")
    timeline.add_argument("-o", "--output", required=True, help="image file (.png, .svg, .pdf)")
    timeline.add_argument("--mine", action="store_true", help="leave out others' jobs")
    timeline.add_argument("--dpi", type=_positive, default=120, help="resolution (default 120)")
    timeline.set_defaults(fn=files.timeline)

    export = sub.add_parser("export", help="a session's jobs, results and timings as JSON")
    export.add_argument("--session", required=True, help="the session id")
    export.add_argument("-o", "--output", required=True, help="JSON file ('-': stdout)")
    export.set_defaults(fn=files.export)

    for command in (jobs, sessions, devices, show, cancel, close, timeline, export):
        _where(command)

    sub.add_parser("plugins", help="registered plugins").set_defaults(fn=admin.plugins)
    where = sub.add_parser("store", help="print where the store is")
    _where(where, remote=False)
    where.set_defaults(fn=admin.store)
    _serve_parser(sub)
    _token_parser(sub)
    ibm_account.add_parser(sub)
    forecast.add_parser(sub)
    return parser


def _serve_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
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
    serve.add_argument(
        "--dask",
        default=None,
        metavar="ADDRESS",
        help="compute jobs on the workers of this Dask scheduler (tcp://host:8786)",
    )
    serve.add_argument(
        "--dask-slots",
        type=int,
        default=None,
        metavar="N",
        help="with --dask: jobs of each simulator device run on the cluster at once",
    )
    serve.add_argument(
        "--calibrate",
        action="append",
        default=[],
        metavar="DEVICE=EVERY/DURATION",
        help="calibrate a QPU periodically: e.g. emulated_falcon_27=24h/10m (repeatable)",
    )
    _where(serve, remote=False)
    serve.set_defaults(fn=admin.serve)


def _token_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    token = sub.add_parser("token", help="users of the service: create, list, revoke tokens")
    tokens = token.add_subparsers(dest="token_command", required=True)
    create = tokens.add_parser("create", help="make a user's token (printed once)")
    create.add_argument("name", help="the user name")
    create.add_argument("--instance", required=True, help="instance the user's jobs charge")
    create.add_argument("--share", type=float, default=1.0, help="the instance's fair share")
    create.add_argument("--admin", action="store_true", help="an administrator")
    _where(create, remote=False)
    create.set_defaults(fn=admin.token_create)
    listing_ = tokens.add_parser("list", help="users and their instances (never the tokens)")
    _where(listing_, remote=False)
    listing_.set_defaults(fn=admin.token_list)
    revoke = tokens.add_parser("revoke", help="remove a user's token")
    revoke.add_argument("name", help="the user name")
    _where(revoke, remote=False)
    revoke.set_defaults(fn=admin.token_revoke)
