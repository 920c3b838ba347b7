"""IBM's fake backends (``qiskit_ibm_runtime.fake_provider``) as devices of the runtime.

A plugin (entry point ``qiskit_fake_backends`` of group ``qsession_provider``) registers
every fake backend as an emulated QPU named as the fake is (``fake_sherbrooke``); the
Qiskit face also finds it by the real name it stands for (``ibm_sherbrooke``:
:func:`device_name`) and from the fake backend object itself (``FakeSherbrooke()`` given
to ``Session``, ``Batch``, a primitive's ``mode=`` or ``QiskitRuntimeService.backend``).

Devices are lazy: the names come from the fake provider's data directories, and a
device's description (the backend's JSON) is read on first use (:class:`LazyDevice`).
Each device has the backend's qubit count, directed coupling map and basis gates (with
the fractional ``rx``/``rzz`` where the backend lists them), one slot, the timing of
:func:`timing_from_calibration`, and its calibration kept in
``properties["calibration"]`` (plain JSON: per qubit T1, T2, frequency, readout errors
and length; per gate and qubits error and duration, in SI units) for the noise engine.
Jobs run noiselessly on the engine's methods (statevector, stabilizer).
"""

from __future__ import annotations

import functools
import importlib.util
import json
import statistics
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ..core.device import Device, DeviceRegistry, TimingModel
from ..plugins.builtin import engine
from ..plugins.hookspecs import hookimpl

__all__ = [
    "FAKE_PREFIX",
    "REAL_PREFIX",
    "LazyDevice",
    "as_backend",
    "device_name",
    "fake_backend_names",
    "fake_device",
    "qsession_register_devices",
    "real_name",
    "timing_from_calibration",
]

FAKE_PREFIX = "fake_"
#: Real backends are named ``ibm_<city>`` (the fake ``fake_<city>`` stands for it).
REAL_PREFIX = "ibm_"
_OLD_REAL_PREFIX = "ibmq_"  # the first generations' names (ibmq_athens, ...)
#: Nominal overheads the backends' data do not give (as for our emulated QPUs).
PER_JOB_SECONDS = 1.0
PER_CIRCUIT_SECONDS = 0.05
_DEFAULT_REP_DELAY = 250e-6
_NOT_GATES = frozenset({"measure", "reset", "delay", "barrier"})
_FRACTIONAL = ("rx", "rzz")


@hookimpl
def qsession_register_devices(registry: DeviceRegistry) -> None:
    """Register every fake backend of the installed qiskit-ibm-runtime (lazily)."""
    for name in fake_backend_names():
        if name not in registry:
            registry.register(LazyDevice(name, functools.partial(fake_device, name)))


@functools.cache
def fake_backend_names() -> tuple[str, ...]:
    """Names of the fake backends (``fake_<city>``), from the provider's data directories
    (no backend is built and no JSON read)."""
    spec = importlib.util.find_spec("qiskit_ibm_runtime")
    if spec is None or not spec.submodule_search_locations:
        return ()
    root = Path(next(iter(spec.submodule_search_locations))) / "fake_provider" / "backends"
    if not root.is_dir():
        return ()
    return tuple(
        sorted(
            FAKE_PREFIX + entry.name
            for entry in root.iterdir()
            if (entry / f"conf_{entry.name}.json").is_file()
        )
    )


def real_name(fake: str) -> str:
    """The real backend a fake stands for: ``fake_sherbrooke`` -> ``ibm_sherbrooke``."""
    return REAL_PREFIX + fake.removeprefix(FAKE_PREFIX)


def device_name(backend: Any) -> str | None:
    """The device of a fake backend object, a fake name or a real name, else None.

    ``FakeSherbrooke()``, ``"fake_sherbrooke"`` and ``"ibm_sherbrooke"`` all give
    ``"fake_sherbrooke"``.
    """
    names = fake_backend_names()
    if isinstance(backend, str):
        name = backend
    elif _is_fake_backend(backend):
        name = str(backend.name)
    else:
        return None
    for prefix in (REAL_PREFIX, _OLD_REAL_PREFIX):
        if name.startswith(prefix):
            name = FAKE_PREFIX + name.removeprefix(prefix)
    return name if name in names else None


def _is_fake_backend(obj: Any) -> bool:
    module = type(obj).__module__ or ""
    return module.startswith("qiskit_ibm_runtime.fake_provider") and hasattr(obj, "name")


# -- building a device ---------------------------------------------------------------------------


def _fake_class(name: str) -> type:
    from qiskit_ibm_runtime.fake_provider import backends

    for attr in dir(backends):
        cls = getattr(backends, attr)
        if isinstance(cls, type) and getattr(cls, "backend_name", None) == name:
            return cls
    raise LookupError(f"qiskit_ibm_runtime has no fake backend named {name!r}")


def fake_device(name: str) -> Device:
    """The device of fake backend ``name`` (reads its configuration and properties JSON)."""
    cls = _fake_class(name)
    folder = Path(cls.dirname)
    conf = json.loads((folder / cls.conf_filename).read_text(encoding="utf-8"))
    props_file = folder / cls.props_filename
    props = json.loads(props_file.read_text(encoding="utf-8")) if props_file.is_file() else {}
    num_qubits = int(conf["n_qubits"])
    calibration = _calibration(num_qubits, props)
    basis = [g for g in conf.get("basis_gates", ()) if g not in _NOT_GATES]
    coupling = conf.get("coupling_map") or []
    processor = conf.get("processor_type") or {}
    family, revision = processor.get("family"), processor.get("revision")
    durations: dict[str, list[float]] = {}
    for entry in calibration["gates"]:
        if entry["duration"] is not None:
            durations.setdefault(entry["gate"], []).append(entry["duration"])
    readout = [q["readout_length"] for q in calibration["qubits"] if q["readout_length"]]
    if readout:
        durations["measure"] = readout
    rep_delay = conf.get("default_rep_delay")  # microseconds
    dt = conf.get("dt")  # nanoseconds
    return Device(
        name=name,
        num_qubits=num_qubits,
        execute=engine(),
        basis_gates=tuple(basis),
        coupling_map=tuple((int(a), int(b)) for a, b in coupling),
        slots=1,
        simulator=False,
        timing=timing_from_calibration(
            calibration, float(rep_delay) * 1e-6 if rep_delay else _DEFAULT_REP_DELAY
        ),
        description=(
            f"emulated {num_qubits}-qubit {family or 'IBM'} QPU ({real_name(name)}, "
            "qiskit-ibm-runtime's fake backend data), noiseless"
        ),
        max_shots=int(conf.get("max_shots") or 0) or None,
        properties={
            "processor_family": family,
            "processor_revision": None if revision is None else str(revision),
            "dt": None if dt is None else float(dt) * 1e-9,
            "emulated": True,
            "fake_backend": cls.__name__,
            "real_name": real_name(name),
            "gate_durations": {g: statistics.fmean(v) for g, v in durations.items()},
            "fractional_gates": sorted(
                {e["gate"] for e in calibration["gates"] if e["gate"] in _FRACTIONAL}
            ),
            "calibration": calibration,
        },
    )


#: SI factors of the units the backends' properties use.
_UNITS = {"": 1.0, "s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9, "Hz": 1.0}
_UNITS |= {"kHz": 1e3, "MHz": 1e6, "GHz": 1e9}
_QUBIT_KEYS = (
    "T1",
    "T2",
    "frequency",
    "anharmonicity",
    "readout_error",
    "prob_meas0_prep1",
    "prob_meas1_prep0",
    "readout_length",
)


def _si(entry: Mapping[str, Any]) -> float:
    return float(entry["value"]) * _UNITS.get(str(entry.get("unit") or ""), 1.0)


def _calibration(num_qubits: int, props: Mapping[str, Any]) -> dict[str, Any]:
    """The backend's properties as plain data, SI units (seconds, Hz)."""
    qubits = []
    for q in range(num_qubits):
        rows = props.get("qubits", [])
        values = {e["name"]: _si(e) for e in (rows[q] if q < len(rows) else [])}
        qubits.append({key: values.get(key) for key in _QUBIT_KEYS})
    gates = []
    for gate in props.get("gates", []):
        values = {e["name"]: _si(e) for e in gate.get("parameters", [])}
        gates.append(
            {
                "gate": gate["gate"],
                "qubits": [int(q) for q in gate["qubits"]],
                "error": values.get("gate_error"),
                "duration": values.get("gate_length"),
            }
        )
    return {"qubits": qubits, "gates": gates, "last_update": props.get("last_update_date")}


def timing_from_calibration(calibration: Mapping[str, Any], rep_delay: float) -> TimingModel:
    """The device's time model: every shot takes the repetition delay plus a readout (the
    qubits' mean readout length); a job and each circuit a nominal overhead
    (:data:`PER_JOB_SECONDS`, :data:`PER_CIRCUIT_SECONDS`). Gate time within a circuit is
    not modelled: ``TimingModel`` does not see circuit depth."""
    readout = [q["readout_length"] for q in calibration["qubits"] if q.get("readout_length")]
    measure = [g["duration"] for g in calibration["gates"] if g["gate"] == "measure"]
    per_readout = statistics.fmean(readout or measure or [0.0])
    return TimingModel(
        per_job=PER_JOB_SECONDS,
        per_circuit=PER_CIRCUIT_SECONDS,
        per_shot=rep_delay + per_readout,
    )


# -- the lazy device --------------------------------------------------------------------------


def _built(field: str) -> property:
    return property(lambda self: getattr(self._device(), field), doc=f"The device's ``{field}``.")


class LazyDevice(Device):
    """A :class:`Device` known by name whose description is built on first use.

    Registering one costs nothing; reading any attribute but ``name`` builds the real
    device once (thread-safe) and answers from it.

    Args:
        name: the device name.
        build: returns the device (its ``name`` must be ``name``).
    """

    def __init__(self, name: str, build: Callable[[], Device]) -> None:  # no dataclass init
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "_build", build)
        object.__setattr__(self, "_real", None)
        object.__setattr__(self, "_lock", threading.Lock())

    def _device(self) -> Device:
        real = self._real
        if real is None:
            with self._lock:
                real = self._real
                if real is None:
                    real = self._build()
                    if real.name != self.name:
                        raise ValueError(f"lazy device {self.name!r} built {real.name!r}")
                    object.__setattr__(self, "_real", real)
        return real

    @property
    def built(self) -> bool:
        """Whether the description has been built."""
        return self._real is not None

    num_qubits = _built("num_qubits")
    execute = _built("execute")
    basis_gates = _built("basis_gates")
    coupling_map = _built("coupling_map")
    slots = _built("slots")
    simulator = _built("simulator")
    timing = _built("timing")
    programs = _built("programs")
    description = _built("description")
    can_cancel_running = _built("can_cancel_running")
    max_shots = _built("max_shots")
    max_executions = _built("max_executions")
    properties = _built("properties")

    def __repr__(self) -> str:
        if not self.built:
            return f"<Device {self.name!r} (not built yet)>"
        return repr(self._device())


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
