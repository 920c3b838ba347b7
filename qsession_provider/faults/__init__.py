"""Scripted faults and load for testing session code: make the world misbehave on cue.

Build faults in Python, or load a scenario file (TOML, or YAML with PyYAML installed), and
install them on a runtime; they happen on the runtime's clock, deterministically::

    from qsession_provider.faults import FailJob, JobMatch, inject

    with inject(runtime, [FailJob(JobMatch(nth=2), ibm_code=1010)]) as faults:
        ...  # the second job submitted fails with IBM's code 1010
    print(faults.describe())

Every injected event is in the injector's ``log`` and in the touched jobs' and sessions'
``metadata["faults"]``. The kinds are in :mod:`qsession_provider.core.runtime.fault_kinds`,
the mechanism in :mod:`qsession_provider.core.runtime.faults`; the pytest plugin installs
them from ``@pytest.mark.qsession(faults=...)``.
"""

from __future__ import annotations

from ..core.runtime.fault_kinds import (
    IBM_ERROR_CODES,
    Calibration,
    CancelJob,
    DeviceOffline,
    FailJob,
    Fault,
    JobMatch,
    SlowJob,
    StoreRefusal,
    TenantLoad,
)
from ..core.runtime.faults import FAULTS_KEY, DeviceUnavailableError, FaultInjector, InjectedEvent
from .install import inject
from .scenario import KINDS, faults_from_mapping, load_scenario

__all__ = [
    "FAULTS_KEY",
    "IBM_ERROR_CODES",
    "KINDS",
    "Calibration",
    "CancelJob",
    "DeviceOffline",
    "DeviceUnavailableError",
    "FailJob",
    "Fault",
    "FaultInjector",
    "InjectedEvent",
    "JobMatch",
    "SlowJob",
    "StoreRefusal",
    "TenantLoad",
    "faults_from_mapping",
    "inject",
    "load_scenario",
]
