"""IBM's fake backends (``qiskit_ibm_runtime.fake_provider``) as lazy devices of the runtime.

The plugin of entry point ``qiskit_fake_backends`` (group ``qsession_provider``). It reads
the installed qiskit-ibm-runtime's data files and never imports qiskit or
qiskit-ibm-runtime, so opening a runtime stays light for every user (a Cirq user's too):

* **Registering** (:func:`qsession_register_devices`) lists the provider's backend folders
  (``fake_provider/backends/<city>/conf_<city>.json``, located with
  ``importlib.util.find_spec``) and reads each configuration's qubit count with a regular
  expression; each device is a :class:`~qsession_provider.core.lazy_device.LazyDevice`
  named as the fake is (``fake_sherbrooke``) whose summary is all a listing reads.
* **First use** (:func:`fake_device`) parses the configuration and properties JSON: the
  directed coupling map, the basis gates (with the fractional ``rx``/``rzz`` where the
  configuration lists them), one slot, the timing of :func:`timing_from_calibration` (each
  shot: the repetition delay plus its circuit's calibrated duration), and the calibration
  in ``properties["calibration"]`` (plain JSON, SI units: per qubit T1, T2, frequency,
  readout errors and length; per gate and qubits error and duration). The engine runs the
  device's jobs with noise from that calibration (:mod:`qsession_provider.sim.noisy`); a
  job with ``noise=False`` runs ideally (:mod:`qsession_provider.sim.method`).

The Qiskit face maps the real names (``ibm_sherbrooke``) and the fake backend objects
(``FakeSherbrooke()``) to these devices (:mod:`qsession_provider.qiskit.fake_backends`).
"""

from __future__ import annotations

import functools
import importlib.util
import json
import re
import statistics
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..core.calibrated_timing import CalibratedTiming
from ..core.device import Device, DeviceRegistry
from ..core.lazy_device import LazyDevice
from .hookspecs import hookimpl

__all__ = [
    "FAKE_PREFIX",
    "PER_CIRCUIT_SECONDS",
    "PER_JOB_SECONDS",
    "REAL_PREFIXES",
    "fake_backend_files",
    "fake_backend_names",
    "fake_device",
    "fake_name",
    "qsession_register_devices",
    "real_name",
    "timing_from_calibration",
]

FAKE_PREFIX = "fake_"
#: Real backends are ``ibm_<city>`` (first generations ``ibmq_<city>``); ``fake_<city>``
#: stands for them.
REAL_PREFIXES = ("ibm_", "ibmq_")
#: Nominal overheads the backends' data do not give (as for our emulated QPUs).
PER_JOB_SECONDS = 1.0
PER_CIRCUIT_SECONDS = 0.05
_DEFAULT_REP_DELAY = 250e-6
_NOT_GATES = frozenset({"measure", "reset", "delay", "barrier"})
_FRACTIONAL = frozenset({"rx", "rzz"})
_N_QUBITS = re.compile(rb'"n_qubits"\s*:\s*(\d+)')


@hookimpl
def qsession_register_devices(registry: DeviceRegistry) -> None:
    """Register every fake backend of the installed qiskit-ibm-runtime, lazily."""
    for name, conf in fake_backend_files().items():
        if name in registry:
            continue
        num_qubits = _num_qubits(conf)
        registry.register(
            LazyDevice(
                name,
                functools.partial(fake_device, name),
                num_qubits=num_qubits,
                slots=1,
                simulator=False,
                description=_description(name, num_qubits),
            )
        )


@functools.cache
def fake_backend_files() -> Mapping[str, Path]:
    """Each fake backend's configuration file by device name (``fake_<city>``), from the
    installed qiskit-ibm-runtime's data folders (nothing is imported or parsed); empty when
    it is not installed."""
    spec = importlib.util.find_spec("qiskit_ibm_runtime")
    if spec is None or not spec.submodule_search_locations:
        return {}
    root = Path(next(iter(spec.submodule_search_locations))) / "fake_provider" / "backends"
    if not root.is_dir():
        return {}
    found = {}
    for folder in sorted(root.iterdir()):
        conf = folder / f"conf_{folder.name}.json"
        if conf.is_file():
            found[FAKE_PREFIX + folder.name] = conf
    return found


def fake_backend_names() -> tuple[str, ...]:
    """The fake backends' device names, sorted (``fake_almaden``, ...)."""
    return tuple(fake_backend_files())


def real_name(fake: str) -> str:
    """The real backend a fake stands for: ``fake_sherbrooke`` -> ``ibm_sherbrooke``."""
    return REAL_PREFIXES[0] + fake.removeprefix(FAKE_PREFIX)


def fake_name(name: str) -> str | None:
    """The device of a fake or real backend name (``ibm_sherbrooke``, ``ibmq_athens``,
    ``fake_sherbrooke``), or None when no installed fake backend stands for it."""
    for prefix in REAL_PREFIXES:
        if name.startswith(prefix):
            name = FAKE_PREFIX + name.removeprefix(prefix)
            break
    return name if name in fake_backend_files() else None


def _num_qubits(conf: Path) -> int:
    """The configuration's ``n_qubits``, read without parsing the whole file."""
    found = _N_QUBITS.search(conf.read_bytes())
    if found is None:
        return int(json.loads(conf.read_text(encoding="utf-8"))["n_qubits"])
    return int(found.group(1))


def _description(name: str, num_qubits: int) -> str:
    return (
        f"emulated {num_qubits}-qubit IBM QPU ({real_name(name)}, qiskit-ibm-runtime's fake "
        "backend data), noise from its calibration"
    )


# -- the full device ---------------------------------------------------------------------------


def fake_device(name: str) -> Device:
    """The full device of fake backend ``name`` (parses its configuration and properties).

    Raises:
        LookupError: no installed fake backend has that name.
    """
    from ..core.ir.calibration_noise import CalibrationNoise
    from .builtin import engine  # the engine is loaded with the first built device

    conf_file = fake_backend_files().get(name)
    if conf_file is None:
        raise LookupError(f"qiskit-ibm-runtime has no fake backend named {name!r}")
    conf = json.loads(conf_file.read_text(encoding="utf-8"))
    props_file = conf_file.with_name(conf_file.name.replace("conf_", "props_", 1))
    props = json.loads(props_file.read_text(encoding="utf-8")) if props_file.is_file() else {}
    num_qubits = int(conf["n_qubits"])
    calibration = _calibration(num_qubits, props)
    processor = conf.get("processor_type") or {}
    revision = processor.get("revision")
    rep_delay = conf.get("default_rep_delay")  # microseconds
    dt = conf.get("dt")  # nanoseconds
    return Device(
        name=name,
        num_qubits=num_qubits,
        execute=engine(noise=CalibrationNoise(calibration, name)),  # sim/noisy.py
        basis_gates=tuple(g for g in conf.get("basis_gates", ()) if g not in _NOT_GATES),
        coupling_map=tuple((int(a), int(b)) for a, b in conf.get("coupling_map") or ()),
        slots=1,
        simulator=False,
        timing=timing_from_calibration(
            calibration, float(rep_delay) * 1e-6 if rep_delay else _DEFAULT_REP_DELAY
        ),
        description=_description(name, num_qubits),
        max_shots=int(conf.get("max_shots") or 0) or None,
        properties={
            "processor_family": processor.get("family"),
            "processor_revision": None if revision is None else str(revision),
            "dt": None if dt is None else float(dt) * 1e-9,
            "emulated": True,
            "real_name": real_name(name),
            "gate_durations": _mean_durations(calibration),
            "fractional_gates": sorted({e["gate"] for e in calibration["gates"]} & _FRACTIONAL),
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
    """The backend's properties as plain data in SI units (seconds, Hz); None where the
    backend gives no value."""
    rows = props.get("qubits", [])
    qubits = []
    for q in range(num_qubits):
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


def _mean_durations(calibration: Mapping[str, Any]) -> dict[str, float]:
    """Mean duration per gate name (``measure``: the qubits' readout length)."""
    durations: dict[str, list[float]] = {}
    for entry in calibration["gates"]:
        if entry["duration"] is not None:
            durations.setdefault(entry["gate"], []).append(entry["duration"])
    readout = [q["readout_length"] for q in calibration["qubits"] if q["readout_length"]]
    if readout:
        durations["measure"] = readout
    return {gate: statistics.fmean(values) for gate, values in durations.items()}


def timing_from_calibration(calibration: Mapping[str, Any], rep_delay: float) -> CalibratedTiming:
    """The device's time model: each shot takes the repetition delay plus its circuit's
    duration scheduled with the calibrated gate durations and readout lengths
    (:class:`~qsession_provider.core.calibrated_timing.CalibratedTiming`); a job and each
    circuit a nominal overhead (:data:`PER_JOB_SECONDS`, :data:`PER_CIRCUIT_SECONDS`)."""
    durations = {
        (g["gate"], tuple(g["qubits"])): g["duration"]
        for g in calibration["gates"]
        if g["duration"] is not None
    }
    for q, row in enumerate(calibration["qubits"]):
        if row.get("readout_length"):
            durations[("measure", (q,))] = row["readout_length"]
    return CalibratedTiming(
        per_job=PER_JOB_SECONDS,
        per_circuit=PER_CIRCUIT_SECONDS,
        per_shot=rep_delay,
        durations=durations,
    )
