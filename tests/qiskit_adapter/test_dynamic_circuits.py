"""Dynamic circuits through the Qiskit face against Aer (issue 15, item 6).

Each construct (``if_else`` with else, nested ``if_else``, ``switch_case``, ``for_loop``,
``while_loop``, ``break_loop`` / ``continue_loop``, expression conditions, IBM's named
mid-circuit instructions) runs on our ``SamplerV2`` and on ``AerSimulator``; the two count
distributions must pass a chi-squared homogeneity test. What Aer 0.18 cannot run (``store``
into variables, ``add`` / ``shift`` expressions) is checked on deterministic circuits, shot by
shot. The estimator's values are the exact mixed-state ones.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("qiskit_ibm_runtime")
pytest.importorskip("qiskit_aer")
stats = pytest.importorskip("scipy.stats")

from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister  # noqa: E402
from qiskit.circuit import Parameter  # noqa: E402
from qiskit.circuit.classical import expr, types  # noqa: E402
from qiskit.quantum_info import SparsePauliOp  # noqa: E402
from qiskit_aer import AerSimulator  # noqa: E402
from qiskit_ibm_runtime.circuit import MeasureReset, MidCircuitMeasure, MidCircuitReset  # noqa: E402

from qsession_provider.qiskit import (  # noqa: E402
    EstimatorV2,
    QiskitRuntimeService,
    SamplerV2,
    Session,
    VirtualClock,
)

SHOTS = 4000


@pytest.fixture
def service(tmp_path: Path) -> Iterator[QiskitRuntimeService]:
    svc = QiskitRuntimeService(store=tmp_path / "store.sqlite3", clock=VirtualClock())
    yield svc
    svc.runtime.shutdown(wait=False, cancel_pending=True)


@pytest.fixture
def sv(service: QiskitRuntimeService) -> object:
    return service.backend("statevector")


def _regs(nq: int, nc: int) -> tuple[QuantumCircuit, ClassicalRegister]:
    cr = ClassicalRegister(nc, "c")
    return QuantumCircuit(QuantumRegister(nq, "q"), cr), cr


def _else_rewrites_its_condition() -> QuantumCircuit:
    qc, cr = _regs(2, 2)
    qc.h(0)
    qc.measure(0, cr[0])
    with qc.if_test((cr[0], 1)) as orelse:
        qc.h(1)
        qc.measure(1, cr[0])  # rewrites the bit the condition read: the else must not run
    with orelse:
        qc.x(1)
    qc.measure(1, cr[1])
    return qc


def _nested() -> QuantumCircuit:
    qc, cr = _regs(3, 3)
    qc.h(0)
    qc.h(1)
    qc.measure([0, 1], [cr[0], cr[1]])
    with qc.if_test((cr[0], 1)) as orelse:
        with qc.if_test((cr[1], 0)) as inner_else:
            qc.x(2)
        with inner_else:
            qc.h(2)
    with orelse:
        qc.ry(0.7, 2)
    qc.measure(2, cr[2])
    return qc


def _switch() -> QuantumCircuit:
    qc, cr = _regs(3, 3)
    qc.h(0)
    qc.h(1)
    qc.measure([0, 1], [cr[0], cr[1]])
    with qc.switch(cr) as case:
        with case(0):
            qc.x(2)
        with case(1, 2):
            qc.h(2)
            qc.measure(2, cr[1])
        with case(case.DEFAULT):
            qc.ry(1.1, 2)
    qc.measure(2, cr[2])
    return qc


def _for_with_parameter() -> QuantumCircuit:
    qc, cr = _regs(2, 2)
    with qc.for_loop(range(3)) as i:
        qc.rx(0.4 * i, 0)
        qc.cry(0.3 * i + 0.2, 0, 1)
    qc.measure([0, 1], cr)
    return qc


def _while_repeat_until_success() -> QuantumCircuit:
    qc, cr = _regs(2, 2)
    qc.h(0)
    qc.measure(0, cr[0])
    with qc.while_loop((cr[0], 1)):
        qc.ry(1.2, 0)
        qc.measure(0, cr[0])
        qc.rx(0.9, 1)
    qc.measure(1, cr[1])
    return qc


def _break_and_continue() -> QuantumCircuit:
    qc, cr = _regs(3, 3)
    with qc.for_loop(range(4)):
        qc.h(0)
        qc.measure(0, cr[0])
        with qc.if_test((cr[0], 1)):
            qc.break_loop()
        qc.h(1)
        qc.measure(1, cr[1])
        with qc.if_test((cr[1], 1)):
            qc.continue_loop()
        qc.x(2)
    qc.measure(2, cr[2])
    return qc


def _while_with_break() -> QuantumCircuit:
    qc, cr = _regs(2, 2)
    qc.x(0)
    qc.measure(0, cr[0])
    with qc.while_loop((cr[0], 1)):
        qc.h(1)
        qc.measure(1, cr[1])
        with qc.if_test((cr[1], 1)):
            qc.break_loop()
        qc.ry(0.3, 0)
        qc.measure(0, cr[0])
    return qc


def _nested_while_with_continue() -> QuantumCircuit:
    qc, cr = _regs(3, 3)
    qc.h([0, 1])
    qc.measure([0, 1], [cr[0], cr[1]])
    with qc.while_loop((cr[0], 1)):
        with qc.while_loop((cr[1], 1)):
            qc.ry(1.3, 1)
            qc.measure(1, cr[1])
            qc.rx(0.4, 2)
        qc.h(1)
        qc.measure(1, cr[1])
        qc.ry(1.1, 0)
        qc.measure(0, cr[0])
        with qc.if_test((cr[0], 0)):
            qc.continue_loop()
        qc.x(2)
    qc.measure(2, cr[2])
    return qc


def _expressions() -> QuantumCircuit:
    qc, cr = _regs(4, 4)
    qc.h([0, 1, 2])
    qc.measure([0, 1, 2], [cr[0], cr[1], cr[2]])
    cond = expr.logic_or(
        expr.logic_and(expr.bit_and(cr[0], cr[1]), expr.logic_not(cr[2])),
        expr.equal(cr, 4),
    )
    with qc.if_test(cond) as orelse:
        qc.x(3)
    with orelse:
        with qc.if_test(expr.less(cr, 3)):
            qc.h(3)
    qc.measure(3, cr[3])
    return qc


CIRCUITS: dict[str, Callable[[], QuantumCircuit]] = {
    "if_else with else": _else_rewrites_its_condition,
    "nested if_else": _nested,
    "switch_case": _switch,
    "for_loop": _for_with_parameter,
    "while_loop": _while_repeat_until_success,
    "break and continue": _break_and_continue,
    "while with break": _while_with_break,
    "nested while with continue": _nested_while_with_continue,
    "expressions": _expressions,
}


def _counts_agree(ours: dict[str, int], aer: dict[str, int]) -> None:
    keys = sorted(set(ours) | set(aer))
    table = np.array([[ours.get(k, 0) for k in keys], [aer.get(k, 0) for k in keys]])
    if len(keys) == 1:
        return
    p = stats.chi2_contingency(table)[1]
    assert p > 1e-4, (ours, aer)


@pytest.mark.parametrize("name", sorted(CIRCUITS))
def test_sampler_agrees_with_aer(sv: object, name: str) -> None:
    qc = CIRCUITS[name]()
    ours = SamplerV2(mode=sv).run([qc], shots=SHOTS).result()[0].data.c.get_counts()
    aer = AerSimulator().run(qc, shots=SHOTS, seed_simulator=11).result().get_counts()
    assert sum(ours.values()) == SHOTS
    _counts_agree(ours, aer)


def test_ibm_named_mid_circuit_instructions_are_measure_and_reset(sv: object) -> None:
    qc, cr = _regs(2, 3)
    plain, pcr = _regs(2, 3)
    for circ, reg, named in ((qc, cr, True), (plain, pcr, False)):
        circ.h(0)
        circ.cx(0, 1)
        if named:
            circ.append(MidCircuitMeasure(), [0], [reg[0]])
            circ.append(MeasureReset(), [1], [reg[1]])
            circ.append(MidCircuitReset(), [0])
        else:
            circ.measure(0, reg[0])
            circ.measure(1, reg[1])
            circ.reset(1)
            circ.reset(0)
        circ.x(1)
        circ.measure(1, reg[2])
    ours = SamplerV2(mode=sv).run([qc], shots=SHOTS).result()[0].data.c.get_counts()
    aer = AerSimulator().run(plain, shots=SHOTS, seed_simulator=3).result().get_counts()
    assert set(ours) == {"100", "111"}
    _counts_agree(ours, aer)


def test_store_into_vars_registers_and_clbits_shot_by_shot(sv: object) -> None:
    """Aer 0.18 cannot run these (vars, add, shifts): each shot's outcome is known."""
    qc, cr = _regs(2, 4)
    flag = qc.add_var("flag", False)
    count = qc.add_var("count", expr.lift(0, types.Uint(3)))
    qc.h(0)
    qc.measure(0, cr[0])
    qc.store(flag, expr.lift(cr[0]))
    with qc.for_loop(range(5)):
        qc.store(count, expr.add(count, 1))
    with qc.if_test(flag):
        qc.x(1)  # qubit 1 mirrors c[0]
    qc.measure(1, cr[1])
    qc.store(cr[2], expr.equal(count, 5))  # always 1
    qc.store(cr[3], expr.bit_xor(expr.index(expr.shift_left(count, 1), 1), cr[1]))
    bits = SamplerV2(mode=sv).run([qc], shots=500).result()[0].data.c.to_bool_array("little")
    np.testing.assert_array_equal(bits[:, 0], bits[:, 1])
    assert bits[:, 2].all()
    np.testing.assert_array_equal(bits[:, 3], ~bits[:, 1])  # bit 1 of count << 1 is 1
    assert 0 < bits[:, 0].sum() < 500


def test_estimator_exact_values_on_dynamic_circuit(sv: object) -> None:
    qc = QuantumCircuit(QuantumRegister(2, "q"), ClassicalRegister(1, "c"))
    qc.h(0)
    qc.measure(0, 0)
    with qc.if_test((qc.clbits[0], 1)) as orelse:
        qc.x(1)
    with orelse:
        qc.h(1)
    theta = Parameter("t")
    with qc.for_loop(range(2)):
        qc.ry(theta, 0)
    obs = [SparsePauliOp("ZI"), SparsePauliOp("XI"), SparsePauliOp("IZ")]
    estimator = EstimatorV2(mode=sv, options={"default_precision": 0})
    evs = estimator.run([(qc, obs, [0.0])]).result()[0].data.evs
    # qubit 1: |1> with p=1/2, |+> with p=1/2; qubit 0 dephased, then rotated by 2t = 0
    np.testing.assert_allclose(evs, [-0.5, 0.5, 0.0], atol=1e-12)


def test_estimator_exact_value_after_a_repeat_until_success_loop(sv: object) -> None:
    """``while c == 1: measure a |+>``, rotating qubit 1 each time: k iterations with
    probability 2**-(k+1), so <Z_1> = sum_k 2**-(k+1) cos(0.9 k) = Re[1 / (2 - e^{0.9i})]."""
    qc = QuantumCircuit(QuantumRegister(2, "q"), ClassicalRegister(1, "c"))
    qc.h(0)
    qc.measure(0, 0)
    with qc.while_loop((qc.clbits[0], 1)):
        qc.h(0)
        qc.measure(0, 0)
        qc.rx(0.9, 1)
    estimator = EstimatorV2(mode=sv, options={"default_precision": 0})
    (ev,) = estimator.run([(qc, [SparsePauliOp("ZI")])]).result()[0].data.evs
    np.testing.assert_allclose(ev, (1 / (2 - np.exp(0.9j))).real, atol=1e-12)


def test_bad_input_fails_alone_and_the_session_goes_on(
    service: QiskitRuntimeService, sv: object
) -> None:
    forever, cr = _regs(2, 1)
    with forever.while_loop((cr[0], 0)):  # c[0] stays 0: every shot passes the limit
        forever.x(1)
    floats, _ = _regs(1, 1)
    with floats.if_test(expr.less(expr.lift(1.5), expr.lift(2.5))):
        floats.x(0)
    good = _while_repeat_until_success()
    with Session(backend=sv) as session:
        sampler = SamplerV2(mode=session)
        with pytest.raises(Exception, match="Float"):
            sampler.run([floats])
        bad = sampler.run([forever], shots=10)
        with pytest.raises(Exception, match="while_loop exceeded its limit of 1000"):
            bad.result()
        counts = sampler.run([good], shots=200).result()[0].data.c.get_counts()
        assert sum(counts.values()) == 200
