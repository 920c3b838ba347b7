"""Example plugin: ``noisy_readout_5``, a 5-qubit line whose readout flips bits.

It runs circuits on the package's statevector engine and then flips each measured bit
with probability ``FLIP``, which is what a device plugin does: describe the device
(qubits, basis gates, coupling, slots, timing) and give an ``execute`` function.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from qsession_provider.core import Device, DeviceRegistry, TimingModel
from qsession_provider.core.ir import PackedBits
from qsession_provider.plugins import hookimpl
from qsession_provider.sim import StatevectorSimulator, execute

FLIP = 0.02
_SIM = StatevectorSimulator()


def _execute(program_id: str, payload: Any) -> dict[str, Any]:
    result = execute(program_id, payload, _SIM)
    rng = np.random.default_rng(getattr(payload, "seed", None))
    pubs = result.get("pubs", []) + result.get("results", [])
    for pub in pubs:
        for name, packed in pub.get("registers", {}).items():
            bits = packed.unpack()  # (shots, num_bits) 0/1
            flips = rng.random(bits.shape) < FLIP
            pub["registers"][name] = PackedBits.from_bits(bits ^ flips.astype(np.uint8))
    return result


@hookimpl
def qsession_register_devices(registry: DeviceRegistry) -> None:
    """Register ``noisy_readout_5``."""
    registry.register(
        Device(
            name="noisy_readout_5",
            num_qubits=5,
            execute=_execute,
            basis_gates=("cx", "rz", "sx", "x", "id"),
            coupling_map=((0, 1), (1, 0), (1, 2), (2, 1), (2, 3), (3, 2), (3, 4), (4, 3)),
            slots=1,
            simulator=False,
            timing=TimingModel(per_job=0.5, per_circuit=0.01, per_shot=0.0001),
            programs=frozenset({"sampler", "run"}),
            description="example plugin: 5-qubit line with 2% readout bit flips",
        )
    )
