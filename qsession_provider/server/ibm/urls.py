"""Where the IBM Quantum Platform API lives on ``qsession serve``, and how a client finds it.

qiskit-ibm-runtime derives four endpoints from its account ``url`` (``accounts/utils.py``,
``api/utils.py``): the IAM token service (``iam.<host>``), IBM Cloud's Global Search
(``api.global-search-tagging.<host>``) and Global Catalog (``globalcatalog.<host>/api/v1``)
to list instances, and the runtime API (``<region>.quantum.<host>/api/v1``). Each keeps only
the host name of ``url`` (a port is dropped), so none of them can reach a local server by
the derivation; what the client honours instead:

* the runtime API: its URL resolver returns ``url`` *unchanged* when the URL contains
  ``experimental`` (``default_runtime_url_resolver``), so the account's ``url`` is
  :data:`RUNTIME_PATH` on the server, used as it is;
* the IAM token service: ``$IAM_URL`` (read by ``CloudAuth`` and ``Account``);
* Global Search and Global Catalog: the IBM Cloud SDK's ``$GLOBAL_SEARCH_URL`` and
  ``$GLOBAL_CATALOG_URL`` (``configure_service`` reads ``<SERVICE>_URL``).

:func:`client_endpoints` gives all of them for a server URL (``qsession ibm-account``
prints them).
"""

from __future__ import annotations

__all__ = [
    "CATALOG_PATH",
    "IAM_PATH",
    "ROOT",
    "RUNTIME_PATH",
    "SEARCH_PATH",
    "client_endpoints",
]

#: Everything of the IBM dialect lives under this path.
ROOT = "/ibm"
#: The runtime API (jobs, sessions, backends, usage): the account's ``url``.
RUNTIME_PATH = ROOT + "/experimental/api/v1"
#: The IAM token service (``POST {IAM_URL}/identity/token``).
IAM_PATH = ROOT + "/iam"
#: IBM Cloud Global Search (``POST /v3/resources/search``).
SEARCH_PATH = ROOT + "/global-search"
#: IBM Cloud Global Catalog (``GET /{id}``).
CATALOG_PATH = ROOT + "/global-catalog"


def client_endpoints(server_url: str) -> dict[str, str]:
    """The account ``url`` and the environment qiskit-ibm-runtime needs for ``server_url``.

    Returns:
        ``{"url": ..., "IAM_URL": ..., "GLOBAL_SEARCH_URL": ..., "GLOBAL_CATALOG_URL": ...}``.
    """
    base = server_url.rstrip("/")
    return {
        "url": base + RUNTIME_PATH,
        "IAM_URL": base + IAM_PATH,
        "GLOBAL_SEARCH_URL": base + SEARCH_PATH,
        "GLOBAL_CATALOG_URL": base + CATALOG_PATH,
    }
