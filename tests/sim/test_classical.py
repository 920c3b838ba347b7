"""Classical computation in the IR and the engine: expressions, stores and per-shot loops
(core/ir/classical.py, sim/compiler.py, sim/branches.py)."""

from __future__ import annotations

import numpy as np
import pytest

from qsession_provider.core import Circuit, Gate, Measure
from qsession_provider.core.ir.circuit import Condition, Reset
from qsession_provider.core.ir.classical import (
    ClassicalStore,
    Expr,
    LoopEnd,
    LoopStart,
    evaluate,
)
from qsession_provider.core.ir.encoding import dumps, loads
from qsession_provider.core.ir.noise import depolarizing
from qsession_provider.core.ir.observables import PauliSum
from qsession_provider.core.ir.payload import (
    EstimatorPayload,
    EstimatorPub,
    SamplerPayload,
    SamplerPub,
)
from qsession_provider.errors import InputError, InvalidCircuitError
from qsession_provider.sim import StatevectorSimulator
from qsession_provider.sim.execute import execute
from qsession_provider.sim.method import choose_method

A = Expr.read([("c", 0), ("c", 1), ("c", 2)])  # c as a 3-bit unsigned integer
RECORD = {("c", 0): 1, ("c", 1): 0, ("c", 2): 1}  # c = 5


@pytest.mark.parametrize(
    ("expression", "value"),
    [
        (A, 5),
        (Expr.unary("bit_not", A), 2),
        (Expr.unary("logic_not", A), 0),
        (Expr.unary("negate", A), 3),
        (Expr.binary("bit_and", A, Expr.const(4, 3)), 4),
        (Expr.binary("bit_or", A, Expr.const(2, 3)), 7),
        (Expr.binary("bit_xor", A, Expr.const(7, 3)), 2),
        (Expr.binary("logic_and", A, Expr.const(0)), 0),
        (Expr.binary("logic_or", A, Expr.const(0)), 1),
        (Expr.binary("equal", A, Expr.const(5, 3)), 1),
        (Expr.binary("not_equal", A, Expr.const(5, 3)), 0),
        (Expr.binary("less", A, Expr.const(6, 3)), 1),
        (Expr.binary("less_equal", A, Expr.const(4, 3)), 0),
        (Expr.binary("greater", A, Expr.const(4, 3)), 1),
        (Expr.binary("greater_equal", A, Expr.const(6, 3)), 0),
        (Expr.binary("shift_left", A, Expr.const(1, 2)), 2),  # 10 mod 8
        (Expr.binary("shift_left", A, Expr.const(3, 2)), 0),
        (Expr.binary("shift_right", A, Expr.const(2, 2)), 1),
        (Expr.binary("add", A, Expr.const(4, 3)), 1),  # 9 mod 8
        (Expr.binary("sub", A, Expr.const(6, 3)), 7),
        (Expr.binary("mul", A, Expr.const(3, 3)), 7),  # 15 mod 8
        (Expr.binary("div", A, Expr.const(2, 3)), 2),
        (Expr("index", 1, (A, Expr.const(2, 2))), 1),
        (Expr.unary("bool", A), 1),
        (Expr.unary("resize", A, 2), 1),
        (Expr.read([("c", 3)]), 0),  # a bit never written reads 0
    ],
)
def test_expressions_evaluate_modulo_their_width(expression: Expr, value: int) -> None:
    assert evaluate(expression, RECORD) == value
    assert Expr.from_json(expression.to_json()) == expression


def test_malformed_expressions_are_refused_by_name() -> None:
    with pytest.raises(InvalidCircuitError, match="'pow'"):
        Expr("pow", 1, (A, A))
    with pytest.raises(InvalidCircuitError, match="does not fit"):
        Expr.from_json(["const", 2, 9])
    with pytest.raises(InvalidCircuitError, match="takes 2 argument"):
        Expr("equal", 1, (A,))
    with pytest.raises(InvalidCircuitError, match="divides by zero"):
        evaluate(Expr.binary("div", A, Expr.const(0, 3)), RECORD)


def _feedback() -> Circuit:
    """h, measure c0; c1 = not c0 (store); conditioned on the stored bit, flip qubit 1."""
    return Circuit(
        2,
        [
            Gate("h", (0,)),
            Measure(0, "c", 0),
            ClassicalStore((("c", 1),), Expr.unary("logic_not", Expr.read([("c", 0)]))),
            Gate("x", (1,), condition=Condition("c", 1, 1)),
            Measure(1, "out", 0),
        ],
        {"c": 2, "out": 1},
    )


def test_stores_run_per_branch_shot_by_shot(sim: StatevectorSimulator) -> None:
    bits = sim.sample(_feedback(), 400, seed=2)
    np.testing.assert_array_equal(bits["c"][:, 1], 1 - bits["c"][:, 0])
    np.testing.assert_array_equal(bits["out"][:, 0], bits["c"][:, 1])
    assert 0 < bits["c"][:, 0].sum() < 400


def test_a_store_is_evaluated_once_where_it_stands(sim: StatevectorSimulator) -> None:
    """A condition held in a scratch bit does not follow later writes of the bits it read."""
    circuit = Circuit(
        2,
        [
            Gate("x", (0,)),
            Measure(0, "c", 0),  # c0 = 1
            ClassicalStore((("s", 0),), Expr.read([("c", 0)])),
            Reset(0, condition=Condition("s", 1, 0)),
            Measure(0, "c", 0, condition=Condition("s", 1, 0)),  # c0 = 0 now
            Gate("x", (1,), condition=Condition("s", 1, 0)),  # still runs
            Measure(1, "c", 1),
        ],
        {"c": 2, "s": 1},
    )
    bits = sim.sample(circuit, 50, seed=1)
    np.testing.assert_array_equal(bits["c"], np.tile([0, 1], (50, 1)))


def _count_down(limit: int, start: int = 3) -> Circuit:
    """A 2-bit counter from ``start`` down to 0 in a per-shot loop, flipping qubit 0 each turn."""
    r = Expr.read([("r", 0), ("r", 1)])
    nonzero = Expr.binary("not_equal", r, Expr.const(0, 2))
    running = Condition("s", 1, 0)
    return Circuit(
        1,
        [
            ClassicalStore((("r", 0), ("r", 1)), Expr.const(start, 2)),
            ClassicalStore((("s", 0),), nonzero),
            LoopStart(7),
            ClassicalStore((("r", 0), ("r", 1)), Expr.binary("sub", r, Expr.const(1, 2)), running),
            Gate("x", (0,), condition=running),
            ClassicalStore((("s", 0),), Expr.binary("logic_and", Expr.read([("s", 0)]), nonzero)),
            LoopEnd(7, limit, running),
            Measure(0, "c", 0),
        ],
        {"c": 1, "r": 2, "s": 1},
    )


@pytest.mark.parametrize("start", [0, 1, 2, 3])
def test_loops_run_per_shot_up_to_their_limit(sim: StatevectorSimulator, start: int) -> None:
    bits = sim.sample(_count_down(3, start), 6, seed=0)
    assert (bits["c"][:, 0] == start % 2).all() and (bits["r"] == 0).all()


def test_a_loop_over_its_limit_is_an_error_naming_it(sim: StatevectorSimulator) -> None:
    with pytest.raises(InvalidCircuitError, match="limit of 2 iterations"):
        sim.sample(_count_down(2), 5, seed=0)
    obs = np.empty(1, dtype=object)
    obs[0] = PauliSum.from_labels({"Z": 1.0})
    with pytest.raises(InvalidCircuitError, match="limit of 2 iterations"):
        execute("estimator", EstimatorPayload((EstimatorPub(_count_down(2), None, obs),)), sim)
    payload = EstimatorPayload((EstimatorPub(_count_down(3), None, obs),))
    np.testing.assert_allclose(execute("estimator", payload, sim)["pubs"][0]["evs"], [-1.0])


def test_loops_with_measurements_split_and_rejoin(sim: StatevectorSimulator) -> None:
    """Repeat until a |+> reads 0: the shots that left the loop early wait and go on with the
    others; the exact estimate sums the geometric series."""
    again = Condition("c", 1, 0)
    circuit = Circuit(
        2,
        [
            Gate("h", (0,)),
            Measure(0, "c", 0),
            LoopStart(0),
            Gate("h", (0,), condition=again),
            Measure(0, "c", 0, condition=again),
            Gate("rx", (1,), (0.9,), condition=again),
            LoopEnd(0, 1000, again),
            Measure(1, "out", 0),
        ],
        {"c": 1, "out": 1},
    )
    # rx runs in the turns whose measurement read 1: k of them with probability 2**-(k+2)
    # (k >= 1), none with probability 3/4
    k = np.arange(1, 200)
    z1 = 0.75 + np.sum(2.0 ** -(k + 2) * np.cos(0.9 * k))
    bits = sim.sample(circuit, 4000, seed=4)
    assert (bits["c"] == 0).all()
    assert abs(np.mean(bits["out"][:, 0]) - (1 - z1) / 2) < 0.03  # some 6 standard deviations
    obs = np.empty(1, dtype=object)
    obs[0] = PauliSum.from_labels({"ZI": 1.0})
    payload = EstimatorPayload((EstimatorPub(circuit, None, obs),))
    evs = execute("estimator", payload, sim)["pubs"][0]["evs"]
    np.testing.assert_allclose(evs, [z1], atol=1e-12)


def test_loop_markers_must_pair_up() -> None:
    end = LoopEnd(0, 5, Condition("c", 1, 0))
    with pytest.raises(InvalidCircuitError, match="never ends"):
        Circuit(1, [LoopStart(0)], {"c": 1})
    with pytest.raises(InvalidCircuitError, match="does not close"):
        Circuit(1, [end], {"c": 1})
    with pytest.raises(InvalidCircuitError, match="starts twice"):
        Circuit(1, [LoopStart(0), end, LoopStart(0), end], {"c": 1})
    with pytest.raises(InvalidCircuitError, match="iteration limit"):
        LoopEnd(0, 0, Condition("c", 1, 0))


def test_exact_estimates_follow_stores(sim: StatevectorSimulator) -> None:
    obs = np.empty(2, dtype=object)
    obs[:] = [PauliSum.from_labels({"IZ": 1.0}), PauliSum.from_labels({"ZI": 1.0})]
    payload = EstimatorPayload((EstimatorPub(_feedback(), None, obs),))
    evs = execute("estimator", payload, sim)["pubs"][0]["evs"]
    # qubit 0: dephased |+> (<Z> = 0); qubit 1 flipped exactly when c0 read 0 (<Z> = 0)
    np.testing.assert_allclose(evs, [0.0, 0.0], atol=1e-12)
    shifted = Circuit(
        2,
        [Gate("ry", (0,), (0.8,)), *_feedback().operations[1:]],
        {"c": 2, "out": 1},
    )
    payload = EstimatorPayload((EstimatorPub(shifted, None, obs),))
    evs = execute("estimator", payload, sim)["pubs"][0]["evs"]
    p1 = np.sin(0.4) ** 2  # probability c0 reads 1: then qubit 1 stays |0>
    np.testing.assert_allclose(evs, [np.cos(0.8), p1 - (1 - p1)], atol=1e-12)


def test_circuits_with_classical_ops_round_trip_and_key_apart() -> None:
    circuit = _feedback()
    again = loads(dumps(circuit))
    assert again.operations[2] == circuit.operations[2]
    assert again.structure_key() == circuit.structure_key()
    other = Circuit(
        2,
        [*circuit.operations[:2], ClassicalStore((("c", 1),), Expr.read([("c", 0)]))],
        circuit.registers,
    )
    assert other.structure_key() != circuit.structure_key()
    looping = _count_down(3)
    decoded = loads(dumps(looping))
    assert decoded.structure_key() == looping.structure_key() != _count_down(4).structure_key()
    assert [op for op in decoded.operations if not isinstance(op, Gate)] == [
        op for op in looping.operations if not isinstance(op, Gate)
    ]
    old = {  # a payload written before classical operations existed
        "num_qubits": 1,
        "registers": [["c", 1]],
        "operations": [
            {"op": "gate", "name": "x", "qubits": [0]},
            {"op": "measure", "qubit": 0, "register": "c", "bit": 0, "condition": None},
        ],
    }
    assert len(Circuit.from_json(old).operations) == 2


def test_classical_ops_on_unknown_bits_are_refused() -> None:
    with pytest.raises(InvalidCircuitError, match="'d'"):
        Circuit(1, [ClassicalStore((("d", 0),), Expr.const(1))], {"c": 1})
    with pytest.raises(InvalidCircuitError, match="out of range"):
        Circuit(1, [ClassicalStore((("c", 0),), Expr.read([("c", 4)]))], {"c": 1})
    with pytest.raises(InvalidCircuitError, match="twice"):
        ClassicalStore((("c", 0), ("c", 0)), Expr.const(1, 2))


def test_the_stabilizer_method_refuses_classical_computation() -> None:
    sim = StatevectorSimulator()
    with pytest.raises(InputError, match="classical computation"):
        choose_method(_feedback(), None, "stabilizer", sim)


def test_noisy_runs_refuse_classical_computation_by_name() -> None:
    circuit = Circuit(
        1,
        [Gate("h", (0,)), depolarizing(0, 0.1), *_feedback().operations[1:3]],
        {"c": 2},
    )
    payload = SamplerPayload((SamplerPub(circuit, np.zeros((0,)), 10),))
    with pytest.raises(InputError, match="noisy simulation does not run classical computation"):
        execute("sampler", payload, StatevectorSimulator())
