"""IBM's fake backends in the Qiskit face: by real name and as objects.

The devices themselves come from the framework-free plugin
:mod:`qsession_provider.plugins.ibm_fake_devices` (entry point ``qiskit_fake_backends``),
named as the fakes are (``fake_sherbrooke``) and built lazily. This module lets the face
find them the ways IBM's documentation and local mode do: by the real name a fake stands
for (``"ibm_sherbrooke"``) and from the fake backend object itself (``FakeSherbrooke()``
given to ``Session``, ``Batch``, a primitive's ``mode=`` or
``QiskitRuntimeService.backend``).
"""

from __future__ import annotations

from typing import Any

from ..core.lazy_device import LazyDevice
from ..plugins.ibm_fake_devices import (
    FAKE_PREFIX,
    REAL_PREFIXES,
    fake_backend_names,
    fake_name,
    real_name,
)

__all__ = [
    "FAKE_PREFIX",
    "REAL_PREFIXES",
    "LazyDevice",
    "as_backend",
    "device_name",
    "fake_backend_names",
    "real_name",
]


def device_name(backend: Any) -> str | None:
    """The device of a fake backend object, a fake name or a real name, else None.

    ``FakeSherbrooke()``, ``"fake_sherbrooke"`` and ``"ibm_sherbrooke"`` all give
    ``"fake_sherbrooke"``.
    """
    if isinstance(backend, str):
        return fake_name(backend)
    if _is_fake_backend(backend):
        return fake_name(str(backend.name))
    return None


def _is_fake_backend(obj: Any) -> bool:
    module = type(obj).__module__ or ""
    return module.startswith("qiskit_ibm_runtime.fake_provider") and hasattr(obj, "name")


def as_backend(backend: Any) -> Any:
    """Our backend for a fake backend object or a device name (fake, real or our own), from
    the default ``QiskitRuntimeService()`` (where IBM's local mode would run a fake backend);
    anything else as it is.

    Raises:
        QiskitBackendNotFoundError: a name no device has.
    """
    name = device_name(backend)
    if name is None and isinstance(backend, str):
        name = backend
    if name is None:
        return backend
    from .service import QiskitRuntimeService  # the service module imports this one

    return QiskitRuntimeService().backend(name)
