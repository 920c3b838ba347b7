"""The engine's sampler and run results hold packed bits, and every store keeps them so."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from qsession_provider.core.ir import Circuit, Gate, Measure, PackedBits, Parameter
from qsession_provider.core.ir.encoding import dumps, loads
from qsession_provider.core.ir.payload import RunPayload, SamplerPayload, SamplerPub
from qsession_provider.core.job_record import JobRecord, JobStatus
from qsession_provider.core.store import MemoryStore
from qsession_provider.core.store.sqlite import SQLiteStore
from qsession_provider.sim import StatevectorSimulator, execute

#: Registers of every width that matters: 0 bits, 1, not a multiple of 8, 8, more than 8.
SIZES = {"none": 0, "one": 1, "three": 3, "byte": 8, "wide": 11}


def pattern_circuit(params: bool = False) -> Circuit:
    """6 qubits; X on qubits 0, 2, 5; each register reads qubits cyclically, so every bit is
    known: bit j of a register reads qubit (offset + j) % 6."""
    ops: list[Any] = [Gate("x", (q,)) for q in (0, 2, 5)]
    if params:
        ops.append(Gate("ry", (1,), params=(Parameter("t"),)))  # qubit 1 follows the parameter
    for offset, (name, size) in enumerate(SIZES.items()):
        ops += [Measure((offset + j) % 6, name, j) for j in range(size)]
    return Circuit(6, ops, dict(SIZES))


def expected_bits(size: int, offset: int, qubit1: int = 0) -> list[int]:
    ones = {0, 2, 5} | ({1} if qubit1 else set())
    return [int((offset + j) % 6 in ones) for j in range(size)]


def test_sampler_registers_are_packed_with_their_size_and_shape() -> None:
    sim = StatevectorSimulator()
    out = execute("sampler", SamplerPayload((SamplerPub(pattern_circuit(), None, 37),)), sim)
    registers = out["pubs"][0]["registers"]
    assert list(registers) == list(SIZES)
    for offset, (name, size) in enumerate(SIZES.items()):
        bits = registers[name]
        assert isinstance(bits, PackedBits)
        assert bits.num_bits == size and bits.shape == (37,)
        assert bits.data.shape == (37, (size + 7) // 8)
        unpacked = bits.unpack()
        assert unpacked.shape == (37, size)
        assert (unpacked == expected_bits(size, offset)).all()


def test_a_broadcast_pub_packs_every_parameter_set() -> None:
    sim = StatevectorSimulator()
    values = np.array([[[0.0], [np.pi]], [[np.pi], [0.0]], [[0.0], [0.0]]])  # shape (3, 2)
    pub = SamplerPub(pattern_circuit(params=True), values, 5)
    registers = execute("sampler", SamplerPayload((pub,), seed=1), sim)["pubs"][0]["registers"]
    for offset, (name, size) in enumerate(SIZES.items()):
        bits = registers[name]
        assert bits.shape == (3, 2, 5) and bits.num_bits == size
        for index in np.ndindex(3, 2):
            qubit1 = int(values[index][0] == np.pi)
            assert (bits[index].unpack() == expected_bits(size, offset, qubit1)).all()


def test_the_packed_bits_are_the_simulators_bits() -> None:
    sim = StatevectorSimulator()
    circuit = Circuit(
        12,
        [Gate("h", (q,)) for q in range(12)] + [Measure(q, "c", q) for q in range(12)],
        {"c": 12},
    )
    out = execute("sampler", SamplerPayload((SamplerPub(circuit, None, 500),), seed=7), sim)
    direct = sim.sample(circuit, 500, None, np.random.default_rng(7))["c"]
    np.testing.assert_array_equal(out["pubs"][0]["registers"]["c"].unpack(), direct)


def test_run_results_are_packed() -> None:
    sim = StatevectorSimulator()
    out = execute("run", RunPayload((pattern_circuit(), pattern_circuit()), shots=9), sim)
    for entry in out["results"]:
        for offset, (name, size) in enumerate(SIZES.items()):
            bits = entry["registers"][name]
            assert isinstance(bits, PackedBits) and bits.shape == (9,) and bits.num_bits == size
            assert (bits.unpack() == expected_bits(size, offset)).all()


STORES = {
    "memory": lambda tmp: MemoryStore(),
    "memory-kept": lambda tmp: MemoryStore(keep_results=1),
    "sqlite-file": lambda tmp: SQLiteStore(tmp / "packed.sqlite3"),
    "sqlite-memory": lambda tmp: SQLiteStore(":memory:"),
}


@pytest.mark.parametrize("kind", sorted(STORES))
def test_every_store_keeps_the_bits_packed_and_gives_them_back(kind: str, tmp_path: Path) -> None:
    sim = StatevectorSimulator()
    values = np.linspace(0, np.pi, 4).reshape(2, 2, 1)
    result = execute(
        "sampler",
        SamplerPayload((SamplerPub(pattern_circuit(params=True), values, 64),), seed=3),
        sim,
    )
    store = STORES[kind](tmp_path)
    try:
        record = JobRecord(
            id="j1",
            program_id="sampler",
            device="statevector",
            status=JobStatus.QUEUED,
            created_at=1.0,
        )
        store.add_job(record, "{}")
        text = dumps(result)
        store.update_job(record.replace(status=JobStatus.DONE), result=text)
        stored = store.get_result("j1")
        assert stored is not None and '"__bits__"' in stored and '"__nd__"' not in stored
        back = loads(stored)["pubs"][0]["registers"]
        for name in SIZES:
            assert back[name] == result["pubs"][0]["registers"][name]
            assert back[name].shape == (2, 2, 64)
    finally:
        store.close()
