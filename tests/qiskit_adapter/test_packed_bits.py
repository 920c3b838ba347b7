"""The Qiskit face reads packed bits: BitArray without a repack, run counts, old results."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import numpy as np
import pytest

pytest.importorskip("qiskit")
pytest.importorskip("qiskit_ibm_runtime")

from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister  # noqa: E402
from qiskit.circuit import Parameter  # noqa: E402
from qiskit.primitives import StatevectorSampler  # noqa: E402
from qiskit.primitives.containers import BitArray  # noqa: E402
from qiskit.primitives.containers.sampler_pub import SamplerPub as QiskitSamplerPub  # noqa: E402
from qiskit.providers.basic_provider import BasicSimulator  # noqa: E402
from qiskit_ibm_runtime.exceptions import IBMRuntimeError  # noqa: E402

from qsession_provider.core.clock import VirtualClock  # noqa: E402
from qsession_provider.core.ir import PackedBits  # noqa: E402
from qsession_provider.qiskit import QiskitRuntimeService, SamplerV2  # noqa: E402
from qsession_provider.qiskit._results import run_result, sampler_result  # noqa: E402

#: Registers of every width that matters: 0 bits, 1, not a multiple of 8, 8, more than 8.
SIZES = {"none": 0, "one": 1, "three": 3, "byte": 8, "wide": 11}


#: What IBM's sampler accepts (it refuses a register of 0 bits).
IBM_SIZES = {k: n for k, n in SIZES.items() if n}


def pattern_circuit(
    theta: Parameter | None = None, sizes: dict[str, int] = SIZES
) -> QuantumCircuit:
    """X on qubits 0, 2, 5 (and RY(theta) on qubit 1); register bit j reads qubit
    (offset + j) % 6, so every bit is known."""
    qc = QuantumCircuit(QuantumRegister(6), *[ClassicalRegister(n, k) for k, n in sizes.items()])
    qc.x([0, 2, 5])
    if theta is not None:
        qc.ry(theta, 1)
    for offset, creg in enumerate(qc.cregs):
        for j in range(creg.size):
            qc.measure((offset + j) % 6, creg[j])
    return qc


@pytest.fixture
def service() -> Iterator[QiskitRuntimeService]:
    made = QiskitRuntimeService(store=":memory:", clock=VirtualClock())
    yield made
    made._runtime.shutdown(wait=False, cancel_pending=True)


def test_sampler_bit_arrays_match_the_reference_for_every_width(
    service: QiskitRuntimeService,
) -> None:
    theta = Parameter("t")
    circuit = pattern_circuit(theta, IBM_SIZES)
    values = np.array([[[0.0], [np.pi]], [[np.pi], [0.0]], [[0.0], [0.0]]])
    sampler = SamplerV2(mode=service.backend("statevector"))
    ours = sampler.run([(circuit, values)], shots=20).result()[0].data
    ref = StatevectorSampler().run([(circuit, values)], shots=20).result()[0].data
    assert ours.shape == ref.shape == (3, 2)
    for name, size in IBM_SIZES.items():
        got, want = getattr(ours, name), getattr(ref, name)
        assert isinstance(got, BitArray)
        assert got.num_bits == size and got.shape == (3, 2) and got.num_shots == 20
        assert got == want  # deterministic circuit: every shot equal
        np.testing.assert_array_equal(got.array, want.array)


def test_the_bit_array_takes_the_packed_bytes_without_a_copy() -> None:
    circuit = pattern_circuit()
    pub = QiskitSamplerPub.coerce(circuit, 7)
    rng = np.random.default_rng(0)
    registers = {
        name: PackedBits.from_bits(rng.integers(0, 2, (7, size))) for name, size in SIZES.items()
    }
    data = sampler_result({"pubs": [{"registers": registers, "shots": 7}]}, [pub], metadata={})
    for name, bits in registers.items():
        array = getattr(data[0].data, name)
        assert array.array is bits.data  # the same bytes: qiskit's layout
        expected = BitArray.from_bool_array(bits.unpack().astype(bool), order="little")
        assert array == expected


def test_a_result_stored_unpacked_still_decodes() -> None:
    circuit = pattern_circuit()
    pub = QiskitSamplerPub.coerce(circuit, 9)
    rng = np.random.default_rng(1)
    unpacked = {name: rng.integers(0, 2, (9, size), dtype=np.uint8) for name, size in SIZES.items()}
    packed = {name: PackedBits.from_bits(bits) for name, bits in unpacked.items()}
    old = sampler_result({"pubs": [{"registers": unpacked, "shots": 9}]}, [pub], metadata={})
    new = sampler_result({"pubs": [{"registers": packed, "shots": 9}]}, [pub], metadata={})
    for name in SIZES:
        assert getattr(old[0].data, name) == getattr(new[0].data, name)

    def counts(registers: dict[str, object]) -> tuple[dict[str, int], list[str] | None]:
        result = run_result(
            {"results": [{"registers": registers, "shots": 9}]},
            circuit,
            backend_name="b",
            backend_version="1",
            job_id="j",
            memory=True,
            shots=9,
            seed=None,
            status="DONE",
        )
        return result.results[0].data.counts, result.results[0].data.memory

    assert counts(unpacked) == counts(packed)


def test_a_mismatched_register_is_named() -> None:
    circuit = pattern_circuit()
    pub = QiskitSamplerPub.coerce(circuit, 4)
    registers = {name: PackedBits.from_bits(np.zeros((4, size))) for name, size in SIZES.items()}
    registers["wide"] = PackedBits.from_bits(np.zeros((4, 10)))
    with pytest.raises(Exception, match=r"register 'wide' has shape \(4, 10\), expected \(4, 11\)"):
        sampler_result({"pubs": [{"registers": registers, "shots": 4}]}, [pub], metadata={})
    registers["wide"] = "0101"
    with pytest.raises(Exception, match="register 'wide': expected bits, got str"):
        sampler_result({"pubs": [{"registers": registers, "shots": 4}]}, [pub], metadata={})


def test_backend_run_counts_and_memory_match_basic_simulator(
    service: QiskitRuntimeService,
) -> None:
    circuit = pattern_circuit()
    backend = service.backend("statevector")
    ours = backend.run(circuit, shots=12, memory=True).result()
    ref = BasicSimulator().run(circuit, shots=12, memory=True).result()
    assert ours.get_counts() == ref.get_counts()
    assert ours.get_memory() == ref.get_memory()
    assert ours.results[0].data.counts == ref.results[0].data.counts


def test_keep_results_reaches_the_store_and_a_dropped_result_says_so() -> None:
    service = QiskitRuntimeService(store=":memory:", clock=VirtualClock(), keep_results=1)
    try:
        assert service._runtime.store.keep_results == 1
        sampler = SamplerV2(mode=service.backend("statevector"))
        circuit = pattern_circuit(sizes=IBM_SIZES)
        first = sampler.run([circuit], shots=4).job_id()
        sampler.run([circuit], shots=4).result()
        gc.collect()  # the first job's handles are gone
        with pytest.raises(IBMRuntimeError, match="keep_results=1"):
            service.job(first).result()
    finally:
        service._runtime.shutdown(wait=False, cancel_pending=True)
