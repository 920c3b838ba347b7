"""The stabilizer method (stim) and the per-circuit method choice (sim/method.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from qsession_provider.core.clock import VirtualClock
from qsession_provider.core.ir.circuit import Circuit, Condition, Gate, Measure, Reset
from qsession_provider.core.ir.observables import PauliSum, PauliTerm
from qsession_provider.core.ir.payload import (
    EstimatorPayload,
    EstimatorPub,
    RunPayload,
    SamplerPayload,
    SamplerPub,
)
from qsession_provider.core.job_record import JobStatus
from qsession_provider.core.runtime.runtime import Runtime
from qsession_provider.errors import InputError, JobFailedError, ResourceTooLargeError
from qsession_provider.plugins.builtin import eagle_127_device
from qsession_provider.sim import StatevectorSimulator, execute
from qsession_provider.sim.method import STABILIZER_FROM_QUBITS, choose_method, requested_method
from qsession_provider.sim.stabilizer import NotClifford, StabilizerSimulator, clifford_translation

pytest.importorskip("stim")

SHOTS = 10_000


def ghz(n: int) -> Circuit:
    ops = [Gate("h", (0,))] + [Gate("x", (q + 1,), controls=(q,)) for q in range(n - 1)]
    return Circuit(n, ops + [Measure(q, "c", q) for q in range(n)], {"c": n}, name=f"ghz{n}")


def bits_of(result: dict, index: int = 0, register: str = "c") -> np.ndarray:
    entry = result["pubs" if "pubs" in result else "results"][index]
    return np.asarray(entry["registers"][register])


def random_clifford(n: int, depth: int, seed: int, measure: bool = True) -> Circuit:
    """Random layers of our Clifford gates, rotations at multiples of pi/2 included."""
    rng = np.random.default_rng(seed)
    one = ["h", "s", "sdg", "sx", "sxdg", "x", "y", "z", "rz", "rx", "ry", "p"]
    two = ["cx", "cz", "swap", "iswap", "ecr", "rzz", "rxx", "dcx"]
    ops: list = []
    for _ in range(depth):
        order = rng.permutation(n)
        for q in order[: n // 2]:
            name = one[rng.integers(len(one))]
            params = (
                (float(rng.integers(-4, 5)) * math.pi / 2,)
                if name in {"rz", "rx", "ry", "p"}
                else ()
            )
            ops.append(Gate(name, (int(q),), params))
        for a, b in zip(order[::2], order[1::2]):
            name = two[rng.integers(len(two))]
            if name == "cx":
                ops.append(Gate("x", (int(b),), controls=(int(a),)))
            elif name == "cz":
                ops.append(Gate("z", (int(b),), controls=(int(a),)))
            else:
                params = (float(rng.integers(1, 4)) * math.pi / 2,) if name[0] == "r" else ()
                ops.append(Gate(name, (int(a), int(b)), params))
    if not measure:
        return Circuit(n, ops, name=f"clifford{n}")
    ops += [Measure(q, "c", q) for q in range(n)]
    return Circuit(n, ops, {"c": n}, name=f"clifford{n}")


@pytest.fixture(scope="module")
def sim() -> StatevectorSimulator:
    return StatevectorSimulator()


# -- the translation -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "params", "clifford"),
    [
        ("h", (), True),
        ("ecr", (), True),
        ("t", (), False),
        ("rz", (math.pi / 2,), True),
        ("rz", (-3 * math.pi / 2,), True),
        ("rz", (0.3,), False),
        ("rx", (math.pi,), True),
        ("rzz", (math.pi / 2,), True),
        ("rzz", (math.pi / 4,), False),
        ("u", (math.pi / 2, 0.0, math.pi), True),
        ("u", (math.pi / 2, 0.1, math.pi), False),
    ],
)
def test_clifford_by_name_and_angle(name: str, params: tuple, clifford: bool) -> None:
    from qsession_provider.core.ir.gates import gate_spec

    gate = Gate(name, tuple(range(gate_spec(name).num_qubits)), params)
    assert (clifford_translation(gate, params) is not None) is clifford


def test_controlled_gates_are_judged_with_their_controls() -> None:
    assert clifford_translation(Gate("x", (1,), controls=(0,)), ()) is not None
    assert clifford_translation(Gate("z", (1,), controls=(0,), ctrl_state=0), ()) is not None
    assert clifford_translation(Gate("h", (1,), controls=(0,)), ()) is None  # CH
    assert clifford_translation(Gate("x", (2,), controls=(0, 1)), ()) is None  # Toffoli


def test_every_translated_gate_matches_its_matrix() -> None:
    """stim's tableau of each translated gate equals the tableau of our matrix."""
    stim = pytest.importorskip("stim")
    from qsession_provider.core.ir.gates import gate_matrix

    cases = [
        ("sx", ()),
        ("sxdg", ()),
        ("iswap", ()),
        ("ecr", ()),
        ("dcx", ()),
        ("ry", (1.5707963267948966,)),
    ]
    for name, params in cases:
        k = 2 if name in ("iswap", "ecr", "dcx") else 1
        gate = Gate(name, tuple(range(k)), params)
        steps = clifford_translation(gate, params)
        assert steps is not None
        circuit = stim.Circuit()
        for inst, targets in steps:
            circuit.append(inst, list(targets))
        got = stim.Tableau.from_circuit(circuit).to_unitary_matrix(endian="little")
        want = gate_matrix(name, params)
        overlap = abs(np.trace(got.conj().T @ want)) / len(want)
        assert overlap == pytest.approx(1.0)


# -- sampling ------------------------------------------------------------------------------


def test_ghz_127_runs_on_the_stabilizer_with_the_right_distribution(sim) -> None:
    result = execute("sampler", SamplerPayload((SamplerPub(ghz(127), None, SHOTS),), 7), sim)
    assert result["pubs"][0]["method"] == "stabilizer"
    bits = bits_of(result)
    assert bits.shape == (SHOTS, 127)
    weights = set(bits.sum(axis=1).tolist())
    assert weights <= {0, 127}
    ones = bits[:, 0].mean()
    assert abs(ones - 0.5) < 5 * 0.5 / math.sqrt(SHOTS)


def test_a_seed_reproduces_the_bits_and_another_seed_does_not(sim) -> None:
    def run(seed: int) -> np.ndarray:
        return bits_of(
            execute("sampler", SamplerPayload((SamplerPub(ghz(40), None, 500),), seed), sim)
        )

    assert np.array_equal(run(11), run(11))
    assert not np.array_equal(run(11), run(12))


def test_random_clifford_100_qubits_agrees_with_qiskits_stabilizer_state(sim) -> None:
    """Independent oracle: qiskit's StabilizerState of the same circuit (Z marginals and
    ZZ correlations are 0 or +-1 there; ours must match)."""
    pytest.importorskip("qiskit")
    from qiskit.quantum_info import Pauli

    n = 100
    circuit = random_clifford(n, 6, seed=5)
    result = execute("sampler", SamplerPayload((SamplerPub(circuit, None, SHOTS),), 3), sim)
    assert result["pubs"][0]["method"] == "stabilizer"
    bits = bits_of(result).astype(float)
    # The oracle: the same gates through qiskit (our gate matrices as qiskit Operators).
    state = _qiskit_state(random_clifford(n, 6, seed=5, measure=False))
    rng = np.random.default_rng(0)
    for q in range(n):
        want = state.expectation_value(Pauli(_label(n, {q: "Z"})))
        got = 1 - 2 * bits[:, q].mean()
        assert abs(got - want) < 5 / math.sqrt(SHOTS), (q, got, want)
    for a, b in rng.integers(0, n, size=(40, 2)):
        if a == b:
            continue
        want = state.expectation_value(Pauli(_label(n, {int(a): "Z", int(b): "Z"})))
        got = np.mean((1 - 2 * bits[:, a]) * (1 - 2 * bits[:, b]))
        assert abs(got - want) < 5 / math.sqrt(SHOTS)


def _label(n: int, letters: dict[int, str]) -> str:
    return "".join(letters.get(q, "I") for q in reversed(range(n)))


def _qiskit_state(circuit: Circuit):
    """The same gates through qiskit (our IR names and angles are Qiskit's)."""
    from qiskit import QuantumCircuit
    from qiskit.quantum_info import Clifford, StabilizerState

    qc = QuantumCircuit(circuit.num_qubits)
    for op in circuit.operations:
        if op.controls:  # cx or cz
            getattr(qc, "c" + op.name)(op.controls[0], op.qubits[0])
        else:
            getattr(qc, op.name)(*op.params, *op.qubits)
    return StabilizerState(Clifford(qc))


def test_random_clifford_agrees_with_the_statevector_on_12_qubits(sim) -> None:
    circuit = random_clifford(12, 8, seed=9)
    stab = execute(
        "run", RunPayload((circuit,), SHOTS, seed=1, options={"method": "stabilizer"}), sim
    )
    sv = execute(
        "run", RunPayload((circuit,), SHOTS, seed=1, options={"method": "statevector"}), sim
    )
    assert stab["results"][0]["method"] == "stabilizer"
    assert sv["results"][0]["method"] == "statevector"
    a, b = bits_of(stab).astype(float), bits_of(sv).astype(float)
    assert np.abs(a.mean(axis=0) - b.mean(axis=0)).max() < 6 * 0.5 / math.sqrt(SHOTS)
    # The support: every outcome the stabilizer draws is one the statevector can give.
    probabilities = sim.probabilities(random_clifford(12, 8, seed=9, measure=False))
    codes = a.astype(np.int64) @ (1 << np.arange(12))
    assert np.all(probabilities[codes] > 1e-9)


def test_reset_mid_circuit_measurement_and_conditions(sim) -> None:
    """q0 measured into c[0], X on q1 if c[0] == 1, q1 measured into c[1], q0 reset and
    measured into c[2]; a 1-bit register condition with value 0 flips q2."""
    n = STABILIZER_FROM_QUBITS + 4
    ops = [
        Gate("h", (0,)),
        Measure(0, "c", 0),
        Gate("x", (1,), condition=Condition("c", 1, 0)),
        Measure(1, "c", 1),
        Reset(0),
        Measure(0, "c", 2),
        Gate("x", (2,), condition=Condition("flag", 0)),
        Measure(2, "flag", 0),
    ]
    ops += [Gate("z", (q,)) for q in range(3, n)]  # touch enough qubits for automatic
    circuit = Circuit(n, ops, {"c": 3, "flag": 1})
    result = execute("run", RunPayload((circuit,), 2000, seed=4), sim)
    assert result["results"][0]["method"] == "stabilizer"
    c = bits_of(result)
    assert np.array_equal(c[:, 0], c[:, 1])
    assert not c[:, 2].any()
    assert 0.4 < c[:, 0].mean() < 0.6
    assert np.asarray(result["results"][0]["registers"]["flag"]).all()
    forced = execute(
        "run", RunPayload((circuit,), 2000, seed=4, options={"method": "statevector"}), sim
    )
    assert np.asarray(forced["results"][0]["registers"]["flag"]).all()


def test_parameter_sweep_of_quarter_turns_runs_on_the_stabilizer(sim) -> None:
    from qsession_provider.core.ir.params import ParamExpr

    n = 30
    theta = ParamExpr("sym", "theta")
    ops = [Gate("h", (0,)), Gate("rz", (0,), (theta,)), Gate("h", (0,))]
    ops += [Gate("x", (q + 1,), controls=(q,)) for q in range(n - 1)]
    circuit = Circuit(n, ops + [Measure(n - 1, "c", 0)], {"c": 1})
    values = np.array([[0.0], [math.pi], [2 * math.pi]])
    result = execute("sampler", SamplerPayload((SamplerPub(circuit, values, 100),), 1), sim)
    assert result["pubs"][0]["method"] == "stabilizer"
    bits = np.asarray(result["pubs"][0]["registers"]["c"])
    assert bits.shape == (3, 100, 1)
    assert not bits[0].any() and bits[1].all() and not bits[2].any()


# -- estimator -----------------------------------------------------------------------------


def test_pauli_expectation_values_match_the_statevector(sim) -> None:
    rng = np.random.default_rng(2)
    stabilizer = StabilizerSimulator()
    for seed in range(4):
        circuit = random_clifford(10, 6, seed=seed, measure=False)
        observables = []
        for _ in range(6):
            qubits = tuple(int(q) for q in rng.choice(10, size=3, replace=False))
            letters = "".join(rng.choice(list("XYZ"), size=3))
            observables.append(
                PauliSum([PauliTerm(letters, qubits, 0.5), PauliTerm("Z", (0,), -1)])
            )
        program = stabilizer.program(circuit)
        assert not isinstance(program, NotClifford)
        got = stabilizer.expectation_values(program, observables)
        want = sim.expectation_values(circuit, observables)
        np.testing.assert_allclose(got, want, atol=1e-9)


def test_wide_estimator_job_uses_the_stabilizer(sim) -> None:
    n = 60
    circuit = Circuit(n, ghz(n).operations[:n])
    observables = np.array(
        [
            PauliSum([PauliTerm("ZZ", (0, n - 1))]),
            PauliSum([PauliTerm("X" * n, tuple(range(n)), 2.0)]),
            PauliSum([PauliTerm("Z", (3,))]),
        ],
        dtype=object,
    )
    result = execute(
        "estimator", EstimatorPayload((EstimatorPub(circuit, None, observables),)), sim
    )
    pub = result["pubs"][0]
    assert pub["method"] == "stabilizer"
    np.testing.assert_allclose(pub["evs"], [1.0, 2.0, 0.0])


# -- the choice and bad input --------------------------------------------------------------


def test_small_circuits_stay_on_the_statevector(sim) -> None:
    result = execute("sampler", SamplerPayload((SamplerPub(ghz(3), None, 10),), 1), sim)
    assert result["pubs"][0]["method"] == "statevector"


def test_unknown_method_is_refused() -> None:
    payload = RunPayload((ghz(2),), 10, options={"method": "density_matrix"})
    with pytest.raises(InputError, match="unknown simulation method 'density_matrix'"):
        requested_method(payload)


def test_forcing_the_stabilizer_on_a_non_clifford_circuit_names_the_gate(sim) -> None:
    circuit = Circuit(3, [Gate("h", (0,)), Gate("t", (0,)), Gate("t", (1,))], name="tt")
    with pytest.raises(InputError, match=r"circuit 0 \(tt\).*gate 't'.*2 non-Clifford"):
        choose_method(circuit, np.zeros((1, 0)), "stabilizer", sim)


def test_too_wide_non_clifford_circuit_names_width_count_and_memory(sim) -> None:
    circuit = Circuit(50, [Gate("h", (q,)) for q in range(50)] + [Gate("t", (7,))], name="wide")
    with pytest.raises(ResourceTooLargeError) as info:
        execute("run", RunPayload((circuit,), 10), sim)
    message = str(info.value)
    assert "touches 50 qubits" in message
    assert "1 non-Clifford gate(s)" in message
    assert "16.0 PiB" in message


def test_a_failed_method_leaves_the_session_and_other_jobs_intact() -> None:
    clock = VirtualClock()
    with Runtime(devices=[eagle_127_device()], clock=clock) as rt:
        session = rt.open_session("emulated_eagle_127")
        good = rt.submit(
            "sampler",
            "emulated_eagle_127",
            SamplerPayload((SamplerPub(ghz(127), None, SHOTS),), 1),
            session_id=session.id,
        )
        bad_circuit = Circuit(3, [Gate("t", (0,)), Measure(0, "c", 0)], {"c": 1})
        bad = rt.submit(
            "run",
            "emulated_eagle_127",
            RunPayload((bad_circuit,), 10, options={"method": "stabilizer"}),
            session_id=session.id,
        )
        after = rt.submit(
            "sampler",
            "emulated_eagle_127",
            SamplerPayload((SamplerPub(ghz(127), None, SHOTS),), 2),
            session_id=session.id,
        )
        with pytest.raises(JobFailedError, match="method='stabilizer' cannot run"):
            bad.result()
        for job in (good, after):
            bits = bits_of(job.result())
            assert set(bits.sum(axis=1).tolist()) <= {0, 127}
            assert job.status is JobStatus.DONE
        assert rt.session(session.id).accepting_jobs


def test_packed_fast_path_equals_the_general_register_path() -> None:
    """measure_all circuits take stim's packed bits directly; other layouts select columns."""
    stabilizer = StabilizerSimulator()
    for n in (5, 8, 9, 127):
        program = stabilizer.program(ghz(n))
        assert not isinstance(program, NotClifford)
        fast = stabilizer.sample(program, 300, np.random.default_rng(5))["c"]
        seed = int(np.random.default_rng(5).integers(0, 2**63))
        general = program.registers(program.circuit.compile_sampler(seed=seed).sample(300))["c"]
        assert np.array_equal(fast.data, general.data) and fast.num_bits == n


def test_random_clifford_100_qubits_on_emulated_eagle_127() -> None:
    pytest.importorskip("qiskit")
    from qiskit.quantum_info import Pauli

    circuit = random_clifford(100, 5, seed=21)
    with Runtime(devices=[eagle_127_device()], clock=VirtualClock()) as rt:
        payload = SamplerPayload((SamplerPub(circuit, None, SHOTS),), 8)
        result = rt.submit("sampler", "emulated_eagle_127", payload).result()
    assert result["pubs"][0]["method"] == "stabilizer"
    bits = bits_of(result).astype(float)
    state = _qiskit_state(random_clifford(100, 5, seed=21, measure=False))
    for q in range(100):
        want = state.expectation_value(Pauli(_label(100, {q: "Z"})))
        assert abs((1 - 2 * bits[:, q].mean()) - want) < 5 / math.sqrt(SHOTS)


def test_a_payload_mixing_methods_runs_each_pub_on_its_own(sim) -> None:
    small = ghz(3)
    wide = ghz(60)
    payload = SamplerPayload(
        (SamplerPub(small, None, 300), SamplerPub(wide, None, 300), SamplerPub(small, None, 5)),
        seed=13,
    )
    result = execute("sampler", payload, sim)
    assert [pub["method"] for pub in result["pubs"]] == ["statevector", "stabilizer", "statevector"]
    for index, width in ((0, 3), (1, 60), (2, 3)):
        assert set(bits_of(result, index).sum(axis=1).tolist()) <= {0, width}
    again = execute("sampler", payload, sim)
    for index in range(3):
        assert np.array_equal(bits_of(result, index), bits_of(again, index))
    observable = PauliSum([PauliTerm("ZZ", (0, 1))])
    estimator = EstimatorPayload(
        (
            EstimatorPub(Circuit(3, small.operations[:3]), None, observable),
            EstimatorPub(Circuit(60, wide.operations[:60]), None, observable),
        )
    )
    pubs = execute("estimator", estimator, sim)["pubs"]
    assert [pub["method"] for pub in pubs] == ["statevector", "stabilizer"]
    assert [float(pub["evs"]) for pub in pubs] == pytest.approx([1.0, 1.0])


def test_ghz_127_and_random_clifford_100_on_fake_sherbrooke_without_noise() -> None:
    """IBM's fake Sherbrooke (its own device, calibration noise switched off by the job)."""
    from qsession_provider.plugins.ibm_fake_devices import fake_backend_names, fake_device

    if "fake_sherbrooke" not in fake_backend_names():
        pytest.skip("qiskit-ibm-runtime's fake backend data (fake_sherbrooke) is not installed")
    pytest.importorskip("qiskit")
    from qiskit.quantum_info import Pauli

    circuit = random_clifford(100, 5, seed=22)
    with Runtime(devices=[fake_device("fake_sherbrooke")], clock=VirtualClock()) as rt:
        jobs = [
            rt.submit("sampler", "fake_sherbrooke", SamplerPayload(pubs, seed, noise=False))
            for pubs, seed in (
                ((SamplerPub(ghz(127), None, SHOTS),), 4),
                ((SamplerPub(circuit, None, SHOTS),), 5),
            )
        ]
        ghz_result, clifford_result = (job.result() for job in jobs)
    assert ghz_result["pubs"][0]["method"] == clifford_result["pubs"][0]["method"] == "stabilizer"
    ones = bits_of(ghz_result).sum(axis=1)
    assert set(ones.tolist()) <= {0, 127}
    assert abs((ones == 127).mean() - 0.5) < 5 * 0.5 / math.sqrt(SHOTS)
    bits = bits_of(clifford_result).astype(float)
    state = _qiskit_state(random_clifford(100, 5, seed=22, measure=False))
    for q in range(100):
        want = state.expectation_value(Pauli(_label(100, {q: "Z"})))
        assert abs((1 - 2 * bits[:, q].mean()) - want) < 5 / math.sqrt(SHOTS)
