"""``qsession ibm-account``: point the unchanged qiskit-ibm-runtime client at a server.

Writes a saved account with qiskit-ibm-runtime's own ``QiskitRuntimeService.save_account``
(channel ``ibm_quantum_platform``, the server's IBM API as ``url``, the token, the CRN of
the token's instance) and prints, as ``export`` lines, the environment the client needs
besides: it derives its IAM and IBM Cloud endpoints from the account's host name, so they
are redirected by ``$IAM_URL``, ``$GLOBAL_SEARCH_URL`` and ``$GLOBAL_CATALOG_URL``
(:mod:`qsession_provider.server.ibm.urls`). Then ``QiskitRuntimeService()`` in user code
talks to the server::

    eval "$(qsession ibm-account --url http://127.0.0.1:8765 --token $TOKEN)"
"""

from __future__ import annotations

import argparse
import shlex
from typing import Any

from rich.console import Console

from ..errors import InputError

__all__ = ["add_parser", "ibm_account"]


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The ``ibm-account`` sub-command."""
    cmd = sub.add_parser(
        "ibm-account",
        help="save a qiskit-ibm-runtime account for a server; print the env it needs",
    )
    cmd.add_argument(
        "--filename",
        default=None,
        help="account file (default: qiskit-ibm-runtime's, ~/.qiskit/qiskit-ibm.json)",
    )
    cmd.add_argument("--name", default=None, help="account name (default: the channel's)")
    cmd.add_argument(
        "--instance",
        default=None,
        help="instance (default: the token's; an administrator may name another)",
    )
    cmd.add_argument("--overwrite", action="store_true", help="replace a saved account")
    cmd.add_argument("--url", default=argparse.SUPPRESS, help="the server's URL")
    cmd.add_argument("--token", default=argparse.SUPPRESS, help="a token of the server")
    cmd.set_defaults(fn=ibm_account)


def _service_class() -> Any:
    try:
        from qiskit_ibm_runtime import QiskitRuntimeService
    except ImportError as exc:
        raise ImportError(
            f"ibm-account needs qiskit-ibm-runtime ({exc}); "
            "install it with: pip install 'qsession-provider[qiskit]'"
        ) from None
    return QiskitRuntimeService


def ibm_account(args: argparse.Namespace, out: Console) -> None:
    """``qsession ibm-account --url URL --token T``: save the account, print the env.

    Raises:
        InputError: no server given, or a bad instance name.
        NotAuthorizedError: the server does not know the token.
        ImportError: qiskit-ibm-runtime is not installed.
    """
    from ..client import connect
    from ..server.ibm.identity import instance_crn
    from ..server.ibm.urls import client_endpoints
    from .sources import server_args

    where = server_args(args)
    if where is None:
        raise InputError("ibm-account needs a server: --url URL --token T ($QSESSION_URL)")
    url, token = where
    with connect(url, token) as runtime:
        whoami = runtime.whoami()
    instance = args.instance or str(whoami["instance"])
    if instance != instance.strip() or not instance or ":" in instance:
        raise InputError(f"--instance must be an instance name, got {instance!r}")
    if instance != whoami["instance"] and not whoami["admin"]:
        raise InputError(
            f"the token of {whoami['user']!r} belongs to instance {whoami['instance']!r}, "
            f"not {instance!r}"
        )
    endpoints = client_endpoints(url)
    crn = instance_crn(instance)
    service = _service_class()
    try:
        service.save_account(
            channel="ibm_quantum_platform",
            token=token,
            url=endpoints["url"],
            instance=crn,
            filename=args.filename,
            name=args.name,
            overwrite=args.overwrite,
            set_as_default=True,
        )
    except Exception as exc:  # the client's AccountAlreadyExistsError, InvalidAccountError
        raise InputError(f"qiskit-ibm-runtime did not save the account: {exc}") from None
    where_saved = args.filename or "qiskit-ibm-runtime's default account file"
    out.print(
        f"# saved the account of {whoami['user']!r} (instance {crn}) in {where_saved};",
        "# qiskit-ibm-runtime also needs this environment:",
        *(f"export {key}={shlex.quote(value)}" for key, value in endpoints.items() if key != "url"),
        sep="\n",
        soft_wrap=True,
        markup=False,
        highlight=False,
    )
