"""Forecast a VQE's cost before spending QPU time: session vs batch vs job mode.

The workload is ordinary session code (an Estimator in a ``Session`` on the emulated
27-qubit QPU, 20 optimiser steps, each waiting for its result). ``forecast`` runs it once on
a virtual clock, then replays its jobs in each mode and prints what the service would count:
quantum seconds, the billed usage (a session is billed its wall time, the optimiser's think
time included; a batch and job mode their quantum seconds), wall time with queueing, and
the cost from a price table you give (the figure here is made up). The command
``qsession forecast script.py --think-time 2 --per-second 1.60`` does the same for a script.

python examples/forecast_vqe.py
"""

from __future__ import annotations

import numpy as np
from qiskit.circuit.library import real_amplitudes
from qiskit.quantum_info import SparsePauliOp
from qiskit.transpiler import generate_preset_pass_manager

from qsession_provider.faults import TenantLoad
from qsession_provider.forecast import forecast
from qsession_provider.qiskit import Estimator, QiskitRuntimeService, Session

STEPS = 20


def vqe() -> None:
    """The user's code, unchanged: no store, clock or url, so the forecast can run it."""
    service = QiskitRuntimeService()
    backend = service.backend("emulated_falcon_27")
    pm = generate_preset_pass_manager(backend=backend, optimization_level=1, seed_transpiler=3)
    ansatz = pm.run(real_amplitudes(2, reps=1))
    hamiltonian = SparsePauliOp(["ZZ", "XI", "IX"], [1.0, 0.5, 0.5]).apply_layout(ansatz.layout)
    params = np.full(ansatz.num_parameters, 0.1)
    with Session(backend=backend) as session:
        estimator = Estimator(mode=session)
        estimator.options.default_precision = 0.02
        for _ in range(STEPS):  # a crude gradient-free step: good enough to cost something
            energy = float(estimator.run([(ansatz, hamiltonian, params)]).result()[0].data.evs)
            params = params - 0.1 * np.sign(energy) * np.cos(params)


def main() -> None:
    prices = {"per_second": 1.60, "currency": "USD"}
    print("An idle device, 2 s of optimiser time per step:\n")
    print(forecast(vqe, think_time=2.0, prices=prices).table())
    print("\nThe same with another tenant submitting 5 jobs of 30 s at t = 10 s:\n")
    busy = [TenantLoad("emulated_falcon_27", at=10, jobs=5, seconds=30)]
    print(forecast(vqe, think_time=2.0, prices=prices, faults=busy).table())


if __name__ == "__main__":
    main()
