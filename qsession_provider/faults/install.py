"""Installing faults on a runtime: :func:`inject`."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from ..core.runtime.fault_kinds import Fault
from ..core.runtime.faults import FaultInjector
from ..errors import InputError
from .scenario import faults_from_mapping, load_scenario

__all__ = ["inject", "as_faults"]

#: What :func:`inject` takes: faults, a scenario mapping, or a scenario file's path.
FaultsLike = Iterable[Fault] | Mapping[str, Any] | str | Path


def as_faults(faults: FaultsLike | None) -> list[Fault]:
    """Faults from a list of faults, a scenario mapping or a scenario file path.

    Raises:
        InputError: not one of those, or a bad scenario.
    """
    if faults is None:
        return []
    if isinstance(faults, (str, Path)):
        return load_scenario(faults)
    if isinstance(faults, Mapping):
        return faults_from_mapping(faults)
    try:
        return list(faults)
    except TypeError:
        raise InputError(
            f"faults must be a list of faults, a scenario mapping or a scenario file path, "
            f"got {type(faults).__name__}"
        ) from None


def inject(runtime: Any, faults: FaultsLike) -> FaultInjector:
    """Install ``faults`` on ``runtime`` (an embedded
    :class:`~qsession_provider.core.runtime.Runtime`); returns the injector (a context
    manager: leaving it removes the faults).

    Raises:
        InputError: a bad fault or scenario; a runtime that is not embedded (a server's
            runtime is scripted in its own process).
        QSessionError: the runtime already has an injector.
    """
    if not hasattr(runtime, "_scheduler"):
        raise InputError(
            f"faults can be injected into an embedded runtime only, not {type(runtime).__name__}"
        )
    return FaultInjector(runtime, as_faults(faults))
