"""The built-in devices, registered through the same hook third-party plugins use.

* ``statevector``: the exact simulator, two slots, all-to-all, as many qubits as the
  memory of this machine holds (at most 34), no modelled execution time.
* ``emulated_falcon_27``: a 27-qubit heavy-hex QPU emulation (Falcon r5.11 layout), one
  slot, basis ``ecr, rz, sx, x, id``; about 1 s per job plus 50 ms per circuit execution
  plus 250 us per shot.
* ``emulated_eagle_127``: a 127-qubit heavy-hex QPU emulation (Eagle r3 layout), one slot,
  basis ``cz, rz, sx, x, id``; about 2 s per job plus 80 ms per circuit execution plus
  300 us per shot.

All three execute on the statevector engine (``qsession_provider.sim``), which drops
qubits no operation touches, so a 5-qubit ISA circuit on the 127-qubit device costs 5
qubits. The emulated QPUs' modelled time is what makes sessions behave on the clock the
way they do on hardware.
"""

from __future__ import annotations

import functools
import math
from typing import Any

from ..core.device import Device, DeviceRegistry, TimingModel
from ..sim import StatevectorSimulator, available_memory, execute
from .hookspecs import hookimpl

__all__ = [
    "qsession_register_devices",
    "engine",
    "statevector_device",
    "falcon_27_device",
    "eagle_127_device",
    "heavy_hex_falcon_27",
    "heavy_hex_eagle_127",
]

#: The statevector device never advertises more qubits than this.
MAX_STATEVECTOR_QUBITS = 34


@hookimpl
def qsession_register_devices(registry: DeviceRegistry) -> None:
    """Register ``statevector``, ``emulated_falcon_27`` and ``emulated_eagle_127``."""
    for device in (statevector_device(), falcon_27_device(), eagle_127_device()):
        registry.register(device)


def _engine(noise: Any = None) -> Any:
    """``execute(program_id, payload)`` on a fresh simulator (picklable for executors);
    ``noise``: the device's noise model, or a function giving it (``sim.noisy``)."""
    if noise is None:
        return functools.partial(execute, simulator=StatevectorSimulator())
    return functools.partial(execute, simulator=StatevectorSimulator(), noise=noise)


#: The engine for devices other plugins emulate (``qsession_provider.qiskit.fake_backends``).
engine = _engine


def statevector_qubits() -> int:
    """Qubits whose complex128 state fits in this machine's available memory (capped)."""
    fits = int(math.log2(max(available_memory(), 16) // 16))
    return max(1, min(MAX_STATEVECTOR_QUBITS, fits))


def statevector_device() -> Device:
    """The exact statevector simulator device."""
    return Device(
        name="statevector",
        num_qubits=statevector_qubits(),
        execute=_engine(),
        basis_gates=(
            "id",
            "x",
            "y",
            "z",
            "h",
            "s",
            "sdg",
            "t",
            "tdg",
            "sx",
            "sxdg",
            "rx",
            "ry",
            "rz",
            "p",
            "u",
            "cx",
            "cy",
            "cz",
            "ch",
            "cp",
            "crx",
            "cry",
            "crz",
            "swap",
            "iswap",
            "ecr",
            "rxx",
            "ryy",
            "rzz",
            "rzx",
            "ccx",
            "cswap",
        ),
        coupling_map=None,
        slots=2,
        simulator=True,
        timing=TimingModel(),
        description="exact statevector simulator (C kernels), all-to-all, 2 slots",
    )


def falcon_27_device() -> Device:
    """An emulated 27-qubit heavy-hex QPU (one job at a time)."""
    return Device(
        name="emulated_falcon_27",
        num_qubits=27,
        execute=_engine(),
        basis_gates=("ecr", "rz", "sx", "x", "id"),
        coupling_map=_symmetric(heavy_hex_falcon_27()),
        slots=1,
        simulator=False,
        timing=TimingModel(per_job=1.0, per_circuit=0.05, per_shot=250e-6),
        description="emulated 27-qubit heavy-hex QPU (Falcon r5.11 layout), ECR basis",
        properties={
            "processor_family": "Falcon",
            "processor_revision": "5.11",
            "dt": 2.2222222222222221e-10,
            "emulated": True,
        },
    )


def eagle_127_device() -> Device:
    """An emulated 127-qubit heavy-hex QPU (one job at a time)."""
    return Device(
        name="emulated_eagle_127",
        num_qubits=127,
        execute=_engine(),
        basis_gates=("cz", "rz", "sx", "x", "id"),
        coupling_map=_symmetric(heavy_hex_eagle_127()),
        slots=1,
        simulator=False,
        timing=TimingModel(per_job=2.0, per_circuit=0.08, per_shot=300e-6),
        description="emulated 127-qubit heavy-hex QPU (Eagle r3 layout), CZ basis",
        properties={
            "processor_family": "Eagle",
            "processor_revision": "3",
            "dt": 5e-10,
            "emulated": True,
        },
    )


def heavy_hex_falcon_27() -> list[tuple[int, int]]:
    """The 28 undirected couplings of IBM's 27-qubit Falcon r5.11 heavy-hex layout."""
    return [
        (0, 1),
        (1, 2),
        (1, 4),
        (2, 3),
        (3, 5),
        (4, 7),
        (5, 8),
        (6, 7),
        (7, 10),
        (8, 9),
        (8, 11),
        (10, 12),
        (11, 14),
        (12, 13),
        (12, 15),
        (13, 14),
        (14, 16),
        (15, 18),
        (16, 19),
        (17, 18),
        (18, 21),
        (19, 20),
        (19, 22),
        (21, 23),
        (22, 25),
        (23, 24),
        (24, 25),
        (25, 26),
    ]


def heavy_hex_eagle_127() -> list[tuple[int, int]]:
    """The 144 undirected couplings of IBM's 127-qubit Eagle r3 heavy-hex layout.

    Seven rows of data qubits (14, 15, 15, 15, 15, 15, 14 qubits; the first row spans
    columns 0-13, the last columns 1-14) joined by four bridge qubits between each pair
    of rows, at columns 0, 4, 8, 12 below even rows and 2, 6, 10, 14 below odd rows.
    """
    rows: list[dict[int, int]] = []  # column -> qubit, per row
    bridges: list[list[int]] = []
    qubit = 0
    for r in range(7):
        columns = range(0, 14) if r == 0 else range(1, 15) if r == 6 else range(0, 15)
        rows.append({})
        for c in columns:
            rows[r][c] = qubit
            qubit += 1
        if r < 6:
            bridges.append(list(range(qubit, qubit + 4)))
            qubit += 4
    edges: list[tuple[int, int]] = []
    for row in rows:
        cols = sorted(row)
        edges += [(row[a], row[b]) for a, b in zip(cols, cols[1:])]
    for r, group in enumerate(bridges):
        start = 0 if r % 2 == 0 else 2
        for bridge, col in zip(group, range(start, 15, 4)):
            edges += [(rows[r][col], bridge), (bridge, rows[r + 1][col])]
    return edges


def _symmetric(edges: list[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    """Both directions of every coupling (two-qubit gates may run either way)."""
    return tuple(sorted({(a, b) for a, b in edges} | {(b, a) for a, b in edges}))
