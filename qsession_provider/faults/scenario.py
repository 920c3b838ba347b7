"""Scenario files: faults written as TOML or YAML, one array of tables per kind.

The same structure in both formats (and as a Python mapping, :func:`faults_from_mapping`)::

    [[fail]]            # the 2nd job submitted fails with IBM's code 1010
    nth = 2
    ibm_code = 1010

    [[offline]]         # the device is offline from t=60 s for 5 minutes
    device = "fake_qpu"
    at = "1m"
    duration = "5m"

Kinds (:data:`KINDS`): ``fail``, ``slow``, ``cancel`` (job faults: the job is picked by
``nth``, ``tag``, ``name``, ``session``, ``device``, ``instance``), ``offline``, ``load``,
``calibration``, ``store``; the other keys are the fields of the fault's class. Times are
seconds or strings such as ``"5m"``, counted from the faults' installation.
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..core.runtime.fault_kinds import (
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
from ..errors import InputError

__all__ = ["KINDS", "faults_from_mapping", "load_scenario", "parse_toml"]

#: Scenario keys and the fault each builds.
KINDS: dict[str, type] = {
    "fail": FailJob,
    "slow": SlowJob,
    "cancel": CancelJob,
    "offline": DeviceOffline,
    "load": TenantLoad,
    "calibration": Calibration,
    "store": StoreRefusal,
}
_MATCH_FIELDS = frozenset(f.name for f in dataclasses.fields(JobMatch))


def faults_from_mapping(data: Mapping[str, Any], *, source: str = "scenario") -> list[Fault]:
    """The faults a scenario mapping describes (see the module docstring).

    Raises:
        InputError: an unknown kind or key, or a bad value (named with its place in
            ``source``).
    """
    if not isinstance(data, Mapping):
        raise InputError(f"{source}: expected a table of fault kinds, got {type(data).__name__}")
    faults: list[Fault] = []
    for kind, entries in data.items():
        cls = KINDS.get(kind)
        if cls is None:
            raise InputError(f"{source}: unknown fault kind {kind!r}; known: {', '.join(KINDS)}")
        if isinstance(entries, Mapping):
            entries = [entries]
        if not isinstance(entries, list):
            raise InputError(f"{source}: {kind} must be a list of tables, got {entries!r}")
        for index, entry in enumerate(entries):
            faults.append(_fault(cls, entry, f"{source}: {kind}[{index}]"))
    return faults


def _fault(cls: type, entry: Any, where: str) -> Fault:
    if not isinstance(entry, Mapping):
        raise InputError(f"{where}: expected a table, got {entry!r}")
    own = {f.name for f in dataclasses.fields(cls)} - {"match"}
    job_fault = cls in (FailJob, SlowJob, CancelJob)
    allowed = own | (_MATCH_FIELDS if job_fault else set())
    unknown = sorted(set(entry) - allowed)
    if unknown:
        raise InputError(f"{where}: unknown key(s) {unknown}; allowed: {sorted(allowed)}")
    try:
        values = {k: v for k, v in entry.items() if k in own}
        if job_fault:
            values["match"] = JobMatch(**{k: v for k, v in entry.items() if k in _MATCH_FIELDS})
        if cls is DeviceOffline or cls is TenantLoad or cls is Calibration:
            if "device" not in values:
                raise InputError("device is required")
        return cls(**values)  # type: ignore[no-any-return]
    except InputError as exc:
        raise InputError(f"{where}: {exc}") from None


def parse_toml(text: str, source: str) -> dict[str, Any]:
    """The table of a TOML text (``tomllib``; on Python 3.10 the ``tomli`` package).

    Raises:
        InputError: a syntax error, or no TOML reader (named with ``source``).
    """
    try:
        reader: Any = importlib.import_module("tomllib")
    except ModuleNotFoundError:  # Python 3.10
        try:
            reader = importlib.import_module("tomli")
        except ModuleNotFoundError:
            raise InputError(
                f"{source}: reading TOML on Python 3.10 needs tomli (pip install tomli)"
            ) from None
    try:
        return dict(reader.loads(text))
    except reader.TOMLDecodeError as exc:
        raise InputError(f"{source}: not valid TOML: {exc}") from None


def load_scenario(path: str | Path) -> list[Fault]:
    """The faults of a scenario file: ``.toml``, or ``.yaml``/``.yml`` (needs PyYAML).

    Raises:
        InputError: an unreadable file, an unknown format, a syntax error or a bad fault
            (the message names the file and the place).
    """
    file = Path(path)
    suffix = file.suffix.lower()
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read scenario file {file}: {exc.strerror or exc}") from None
    if suffix == ".toml":
        data: Any = parse_toml(text, str(file))
    elif suffix in (".yaml", ".yml"):
        try:
            import yaml
        except ImportError:
            raise InputError(f"{file}: reading YAML needs PyYAML (pip install pyyaml)") from None
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise InputError(f"{file}: not valid YAML: {exc}") from None
        data = {} if data is None else data
    else:
        raise InputError(f"{file}: a scenario file is .toml, .yaml or .yml, not {suffix!r}")
    return faults_from_mapping(data, source=str(file))
