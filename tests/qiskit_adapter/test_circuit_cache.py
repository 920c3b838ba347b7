"""The circuit translation cache: hits while a circuit is unchanged, misses after any edit."""

from __future__ import annotations

import gc
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

pytest.importorskip("qiskit")
pytest.importorskip("qiskit_ibm_runtime")

from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister  # noqa: E402
from qiskit.circuit import CircuitInstruction, Gate, Parameter  # noqa: E402
from qiskit.circuit.library import RXGate, efficient_su2  # noqa: E402

from qsession_provider.errors import InputError  # noqa: E402
from qsession_provider.qiskit import circuit_to_ir  # noqa: E402
from qsession_provider.qiskit._circuit_cache import CircuitCache  # noqa: E402


@pytest.fixture
def cache() -> CircuitCache:
    return CircuitCache()


class Custom(Gate):
    """A Python-side gate whose params can be edited in place."""

    def __init__(self, angle: float) -> None:
        super().__init__("custom", 1, [angle])

    def _define(self) -> None:
        qc = QuantumCircuit(1)
        qc.rx(self.params[0], 0)
        self.definition = qc


def base_circuit() -> QuantumCircuit:
    t = Parameter("t")
    qc = QuantumCircuit(2, 2, name="base", metadata={"k": 1})
    qc.rx(t, 0)
    qc.cx(0, 1)
    qc.append(Custom(0.3), [1])
    qc.measure([0, 1], [0, 1])
    return qc


MUTATIONS = {
    "append": lambda qc: qc.x(1),
    "replace": lambda qc: qc.data.__setitem__(1, CircuitInstruction(RXGate(0.2), [qc.qubits[1]])),
    "pop": lambda qc: qc.data.pop(),
    "assign_inplace": lambda qc: qc.assign_parameters({"t": 0.5}, inplace=True),
    "global_phase": lambda qc: setattr(qc, "global_phase", 0.25),
    "name": lambda qc: setattr(qc, "name", "renamed"),
    "metadata": lambda qc: qc.metadata.update({"k": 2}),
    "overlapping_register": lambda qc: qc.add_register(
        ClassicalRegister(name="extra", bits=qc.clbits[:1])
    ),
    "new_qubit": lambda qc: qc.add_register(QuantumRegister(1, "more")),
    "custom_param_in_place": lambda qc: qc.data[2].operation.params.__setitem__(0, 1.2),
}


@pytest.mark.parametrize("mutation", sorted(MUTATIONS))
def test_cache_mutation_invalidates(cache: CircuitCache, mutation: str) -> None:
    qc = base_circuit()
    before = cache.get(qc)
    assert cache.get(qc) is before
    MUTATIONS[mutation](qc)
    after = cache.get(qc)
    assert after is not before
    fresh = circuit_to_ir(qc)
    assert after.structure_key() == fresh.structure_key()
    assert (after.name, after.metadata, after.parameters) == (
        fresh.name,
        fresh.metadata,
        fresh.parameters,
    )
    assert cache.get(qc) is after  # and the new translation is cached again


def test_cache_bounded_collected_and_disabled() -> None:
    cache = CircuitCache(maxsize=2)
    circuits = [QuantumCircuit(1) for _ in range(3)]
    programs = [cache.get(c) for c in circuits]
    assert len(cache) == 2
    assert cache.get(circuits[2]) is programs[2]
    assert cache.get(circuits[0]) is not programs[0]  # evicted, translated again
    del circuits, programs
    gc.collect()
    assert len(cache) == 0
    off = CircuitCache(maxsize=0)
    qc = QuantumCircuit(1)
    assert off.get(qc) is not off.get(qc) and len(off) == 0
    with pytest.raises(InputError, match="QuantumCircuit"):
        cache.get("not a circuit")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="maxsize"):
        CircuitCache(maxsize=-1)


def test_cache_thread_safe() -> None:
    cache = CircuitCache(maxsize=4)
    circuits = [efficient_su2(3, reps=r) for r in range(1, 7)]
    expected = [circuit_to_ir(c).structure_key() for c in circuits]

    def work(i: int) -> bool:
        k = i % len(circuits)
        return cache.get(circuits[k]).structure_key() == expected[k]

    with ThreadPoolExecutor(8) as pool:
        assert all(pool.map(work, range(400)))
    assert len(cache) <= 4


def test_a_scope_validates_each_circuit_once_and_a_later_mutation_is_seen(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cache = CircuitCache()
    qc = QuantumCircuit(2)
    theta = Parameter("theta")
    qc.ry(theta, 0)
    qc.cx(0, 1)
    checks: list[int] = []
    valid = CircuitCache._valid

    def counted(*args: Any) -> bool:
        checks.append(1)
        return bool(valid(*args))

    monkeypatch.setattr(CircuitCache, "_valid", staticmethod(counted))
    first = cache.get(qc)
    with cache.scope():
        with cache.scope():  # a nested block joins the outer one
            assert cache.get(qc) is first
        assert cache.parameter_names(qc) == ("theta",)
        assert cache.get(qc) is first
    assert len(checks) == 1  # one validation in the whole block
    assert cache.get(qc) is first and len(checks) == 2  # outside: every lookup validates
    qc.rz(Parameter("phi"), 1)
    with cache.scope():
        assert cache.parameter_names(qc) == ("phi", "theta")  # sorted, as circuit.parameters
        assert cache.get(qc) is not first and len(cache.get(qc).operations) == 3


def test_parameter_names_of_an_untranslatable_circuit_fall_back_in_coercion() -> None:
    from qiskit.quantum_info import SparsePauliOp

    from qsession_provider.qiskit._coerce import coerce_estimator_pub

    qc = QuantumCircuit(1)
    qc.append(Gate("mystery", 1, [Parameter("a")]), [0])
    pub = coerce_estimator_pub(
        (qc, SparsePauliOp("Z"), [0.5]), 0.0, circuits=CircuitCache()
    )  # coercion does not translate: the unknown gate fails later, where it is translated
    assert pub.parameter_values.num_parameters == 1
