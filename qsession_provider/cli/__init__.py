"""``qsession``: look at and act on the sessions, jobs and devices of a store or a server.

    qsession jobs [--session ID] [--device D] [--pending|--final|--status S] [--limit N]
    qsession sessions [--device D] [--state S] [--limit N]
    qsession devices                      # devices, queue lengths, the session holding each
    qsession show JOB|SESSION             # details (a session with its jobs)
    qsession cancel JOB
    qsession close SESSION [--cancel]
    qsession timeline SESSION -o file.png [--mine]   # needs the plot extra
    qsession export --session ID -o file.json        # jobs, results, timings ('-': stdout)
    qsession plugins | store
    qsession serve [--host H] [--port P] [--virtual-clock] [--max-body B] [--max-queued N]
    qsession token create NAME --instance I [--share N] [--admin] | token list | token revoke NAME
    qsession ibm-account --url URL --token T [--filename F]   # qiskit-ibm-runtime's saved account
    qsession forecast SCRIPT [--think-time S] [--prices FILE] [--scenario FILE]  # cost per mode

Where: ``--store PATH`` (or ``$QSESSION_STORE``) for a store file, or ``--url URL --token T``
(or ``$QSESSION_URL``/``$QSESSION_TOKEN``) for a server; either may follow the command.
Reading opens the store read-only and never starts a runtime, so it never runs, fails or
sweeps anybody's jobs; ``cancel`` and ``close`` go through the store's runtime (or the
server). Exit status: 0 done; 1 refused or failed; 2 bad usage; 3 no such job or session
(a server answers another user's id so too); 4 not authorized. Errors are one line on
stderr.
"""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import Sequence

from ..errors import NotAuthorizedError, QSessionError

__all__ = ["main", "EXIT_FAILED", "EXIT_USAGE", "EXIT_NOT_FOUND", "EXIT_NOT_AUTHORIZED"]

EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_NOT_FOUND = 3
EXIT_NOT_AUTHORIZED = 4


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``qsession`` command; returns the exit status (argparse exits 2 on bad usage)."""
    from .parser import build_parser
    from .render import console

    args = build_parser(__doc__ or "qsession").parse_args(argv)
    try:
        args.fn(args, console())
    except QSessionError as exc:
        return _fail(str(exc), _code(exc))
    except sqlite3.Error as exc:  # a store file SQLite cannot read, whatever the reason
        return _fail(f"the store at {args.store or '(default)'} cannot be read: {exc}", 1)
    except ImportError as exc:  # an optional extra (matplotlib, the server stack)
        return _fail(str(exc), EXIT_FAILED)
    except OSError as exc:  # a file that cannot be written
        return _fail(f"{exc.strerror or exc}: {exc.filename or ''}".rstrip(": "), EXIT_FAILED)
    except KeyboardInterrupt:
        return _fail("interrupted", 130)
    return 0


def _code(exc: QSessionError) -> int:
    if isinstance(exc, NotAuthorizedError):
        return EXIT_NOT_AUTHORIZED
    if isinstance(exc, LookupError):
        return EXIT_NOT_FOUND
    return EXIT_FAILED


def _fail(message: str, code: int) -> int:
    print(f"qsession: {message}", file=sys.stderr)
    return code
