"""The built-in devices: descriptions, heavy-hex maps, and real jobs on the engine."""

from __future__ import annotations

from collections import Counter, deque
from typing import Any

import numpy as np
import pytest

pytest.importorskip("qsession_provider.sim.execute")

from qsession_provider.core.clock import VirtualClock  # noqa: E402
from qsession_provider.core.ir.circuit import Circuit, Gate, Measure  # noqa: E402
from qsession_provider.core.ir.observables import PauliSum  # noqa: E402
from qsession_provider.core.ir.payload import (  # noqa: E402
    EstimatorPayload,
    EstimatorPub,
    RunPayload,
    SamplerPayload,
    SamplerPub,
)
from qsession_provider.plugins import (  # noqa: E402
    build_device_registry,
    builtin,  # noqa: E402
    get_plugin_manager,
)
from qsession_provider.testing import check_device  # noqa: E402

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(scope="module")
def devices() -> dict[str, Any]:
    pm = get_plugin_manager(load_entry_points=False)
    return {d.name: d for d in build_device_registry(pm)}


def bell_sampler(shots: int = 256, width: int = 2) -> SamplerPayload:
    ops = [Gate("h", (0,)), Gate("x", (1,), controls=(0,)), Measure(0, "c", 0), Measure(1, "c", 1)]
    return SamplerPayload((SamplerPub(Circuit(width, ops, {"c": 2}), None, shots),), seed=11)


def test_the_three_builtin_devices(devices: dict[str, Any]) -> None:
    sv, falcon, eagle = (
        devices[n] for n in ("statevector", "emulated_falcon_27", "emulated_eagle_127")
    )
    assert sv.simulator and sv.slots == 2 and sv.coupling_map is None and sv.timing.is_zero
    assert 1 <= sv.num_qubits <= builtin.MAX_STATEVECTOR_QUBITS
    assert (falcon.num_qubits, falcon.slots, falcon.simulator) == (27, 1, False)
    assert (eagle.num_qubits, eagle.slots, eagle.simulator) == (127, 1, False)
    assert falcon.basis_gates == ("ecr", "rz", "sx", "x", "id")
    assert eagle.basis_gates == ("cz", "rz", "sx", "x", "id")
    assert not falcon.timing.is_zero and not eagle.timing.is_zero


@pytest.mark.parametrize(
    ("edges", "qubits", "count"),
    [
        (builtin.heavy_hex_falcon_27(), 27, 28),
        (builtin.heavy_hex_eagle_127(), 127, 144),
    ],
    ids=["falcon-27", "eagle-127"],
)
def test_heavy_hex_maps(edges: list[tuple[int, int]], qubits: int, count: int) -> None:
    assert len(edges) == count == len({frozenset(e) for e in edges})
    degree = Counter(q for e in edges for q in e)
    assert set(degree) == set(range(qubits))
    assert max(degree.values()) == 3  # heavy-hex: no qubit has more than three neighbours
    neighbours: dict[int, set[int]] = {q: set() for q in range(qubits)}
    for a, b in edges:
        neighbours[a].add(b)
        neighbours[b].add(a)
    seen, todo = {0}, deque([0])
    while todo:
        for n in neighbours[todo.popleft()] - seen:
            seen.add(n)
            todo.append(n)
    assert len(seen) == qubits  # connected


def test_coupling_maps_are_symmetric(devices: dict[str, Any]) -> None:
    for name in ("emulated_falcon_27", "emulated_eagle_127"):
        edges = set(devices[name].coupling_map)
        assert all((b, a) in edges for a, b in edges)


@pytest.mark.parametrize("name", ["statevector", "emulated_falcon_27", "emulated_eagle_127"])
def test_sampler_jobs_pass_the_device_contract(devices: dict[str, Any], name: str) -> None:
    result = check_device(devices[name], "sampler", bell_sampler())
    bits = result["pubs"][0]["registers"]["c"].unpack()
    assert bits.shape == (256, 2)
    assert np.all(bits[:, 0] == bits[:, 1])  # a Bell pair


def test_a_127_qubit_isa_circuit_touching_five_qubits_runs(devices: dict[str, Any]) -> None:
    ops = [Gate("h", (0,))] + [Gate("z", (q + 1,), controls=(q,)) for q in range(4)]
    ops += [Measure(q, "c", q) for q in range(5)]
    payload = SamplerPayload((SamplerPub(Circuit(127, ops, {"c": 5}), None, 64),))
    result = check_device(devices["emulated_eagle_127"], "sampler", payload)
    assert result["pubs"][0]["registers"]["c"].unpack().shape == (64, 5)


def test_estimator_and_run_programs(devices: dict[str, Any]) -> None:
    prog = Circuit(1, [Gate("x", (0,))])
    observables = np.empty(2, dtype=object)
    observables[0] = PauliSum.from_labels({"Z": 1.0})
    observables[1] = PauliSum.from_labels({"X": 1.0})
    est = EstimatorPayload((EstimatorPub(prog, None, observables),))
    result = check_device(devices["statevector"], "estimator", est)
    assert result["pubs"][0]["evs"] == pytest.approx([-1.0, 0.0])
    circuit = Circuit(1, [Gate("x", (0,)), Measure(0, "m", 0)], {"m": 1})
    run = check_device(devices["emulated_falcon_27"], "run", RunPayload((circuit,), shots=10))
    assert run["results"][0]["registers"]["m"].unpack().sum() == 10


def test_emulated_qpu_time_passes_on_a_virtual_clock(devices: dict[str, Any]) -> None:
    from qsession_provider.core.runtime.runtime import Runtime

    clock = VirtualClock(start=0)
    with Runtime(devices=list(devices.values()), clock=clock) as rt:
        session = rt.open_session("emulated_falcon_27")
        jobs = [
            rt.submit(
                "sampler", "emulated_falcon_27", bell_sampler(shots=4000), session_id=session.id
            )
            for _ in range(3)
        ]
        for job in jobs:
            job.result()
        per_job = 1.0 + 0.05 + 4000 * 250e-6
        assert clock.now() == pytest.approx(3 * per_job)
        assert [j.started_at for j in jobs] == pytest.approx([0, per_job, 2 * per_job])
