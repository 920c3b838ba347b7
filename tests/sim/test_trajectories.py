"""The trajectory engine against a dense density-matrix oracle (numpy), and its guards."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from qsession_provider.core.ir import Circuit, Gate, Measure, NoiseModel, ReadoutError, Reset
from qsession_provider.core.ir.circuit import Condition
from qsession_provider.core.ir.gates import gate_matrix
from qsession_provider.core.ir.noise import (
    NoiseChannel,
    amplitude_damping,
    depolarizing,
    kraus_channel,
    pauli_channel,
    phase_damping,
    thermal_relaxation,
)
from qsession_provider.core.ir.observables import PauliSum, PauliTerm
from qsession_provider.core.ir.payload import (
    EstimatorPayload,
    EstimatorPub,
    RunPayload,
    SamplerPayload,
    SamplerPub,
)
from qsession_provider.errors import ResourceTooLargeError
from qsession_provider.sim import StatevectorSimulator, _kernel, execute
from qsession_provider.sim.trajectories import (
    compile_program,
    density_matrix_expectations,
    sample_noisy,
    trajectory_expectations,
)

SHOTS = 4000


# -- the oracle ---------------------------------------------------------------------------------


def _embed(matrix: np.ndarray, qubits: tuple[int, ...], n: int) -> np.ndarray:
    """The 2**n operator of ``matrix`` on ``qubits`` (bit j of its index is qubits[j])."""
    dim = 2**n
    full = np.zeros((dim, dim), dtype=complex)
    others = [q for q in range(n) if q not in qubits]
    for rest in range(2 ** len(others)):
        base = sum(((rest >> i) & 1) << q for i, q in enumerate(others))
        idx = [
            base + sum(((r >> j) & 1) << q for j, q in enumerate(qubits))
            for r in range(2 ** len(qubits))
        ]
        full[np.ix_(idx, idx)] += matrix
    return full


def _gate(op: Gate) -> tuple[np.ndarray, tuple[int, ...]]:
    m = op.matrix if op.matrix is not None else gate_matrix(op.name, tuple(op.params))
    if op.controls:
        k, nc = len(op.qubits), len(op.controls)
        big = np.eye(2 ** (k + nc), dtype=complex)
        rows = [(2**nc - 1) * 2**k + t for t in range(2**k)]
        big[np.ix_(rows, rows)] = m
        return big, op.qubits + op.controls
    return m, op.qubits


def exact_distribution(circuit: Circuit) -> dict[tuple[int, ...], float]:
    """Outcome probabilities of a circuit whose measurements (and readout errors) are last."""
    n = circuit.num_qubits
    rho = np.zeros((2**n, 2**n), dtype=complex)
    rho[0, 0] = 1
    measured: list[tuple[int, int]] = []  # (qubit, clbit)
    readout: dict[int, np.ndarray] = {}
    offsets = dict(zip(circuit.registers, itertools.accumulate([0, *circuit.registers.values()])))
    for op in circuit.operations:
        if isinstance(op, Gate):
            m, qs = _gate(op)
            u = _embed(m, qs, n)
            rho = u @ rho @ u.conj().T
        elif isinstance(op, NoiseChannel):
            rho = sum(
                _embed(k, op.qubits, n) @ rho @ _embed(k, op.qubits, n).conj().T for k in op.kraus
            )
        elif isinstance(op, Measure):
            measured.append((op.qubit, offsets[op.register] + op.bit))
        elif isinstance(op, ReadoutError):
            readout[offsets[op.register] + op.bit] = op.matrix
    probs = np.real(np.diag(rho))
    nclbits = circuit.num_clbits
    out: dict[tuple[int, ...], float] = {}
    for index, p in enumerate(probs):
        bits = [0] * nclbits
        for q, c in measured:
            bits[c] = (index >> q) & 1
        dist = {tuple(bits): p}
        for c, m in readout.items():
            new: dict[tuple[int, ...], float] = {}
            for key, w in dist.items():
                for v in (0, 1):
                    k2 = list(key)
                    k2[c] = v
                    new[tuple(k2)] = new.get(tuple(k2), 0.0) + w * m[key[c], v]
            dist = new
        for key, w in dist.items():
            out[key] = out.get(key, 0.0) + w
    return out


def tv_bound(probs: dict[tuple[int, ...], float], shots: int) -> float:
    """Total variation an honest sample of ``shots`` stays under (4 sigma per outcome)."""
    return (
        0.5 * sum(4 * math.sqrt(p * (1 - p) / shots) for p in probs.values()) + len(probs) / shots
    )


def tv(probs: dict[tuple[int, ...], float], bits: np.ndarray) -> float:
    counts: dict[tuple[int, ...], int] = {}
    for row in map(tuple, bits.tolist()):
        counts[row] = counts.get(row, 0) + 1
    keys = set(probs) | set(counts)
    return 0.5 * sum(abs(probs.get(k, 0.0) - counts.get(k, 0) / len(bits)) for k in keys)


# -- circuits -----------------------------------------------------------------------------------


def _measured(n: int, ops: list) -> Circuit:
    return Circuit(n, [*ops, *(Measure(q, "c", q) for q in range(n))], {"c": n})


def bell() -> list:
    return [Gate("h", (0,)), Gate("x", (1,), controls=(0,), label="cx")]


def ghz(n: int) -> list:
    return [Gate("h", (0,))] + [
        Gate("x", (q + 1,), controls=(q,), label="cx") for q in range(n - 1)
    ]


def random_layers(n: int, depth: int, seed: int) -> list:
    rng = np.random.default_rng(seed)
    ops: list = []
    for layer in range(depth):
        for q in range(n):
            ops.append(Gate("u", (q,), tuple(rng.uniform(0, 2 * np.pi, 3))))
        for q in range(layer % 2, n - 1, 2):
            ops.append(Gate("x", (q + 1,), controls=(q,), label="cx"))
    return ops


MODEL = NoiseModel(
    default={
        "cx": (depolarizing((0, 1), 0.08), thermal_relaxation(0, 50.0, 40.0, 1.0)),
        "h": (amplitude_damping(0, 0.1),),
        "u": (depolarizing(0, 0.02), thermal_relaxation(0, 50.0, 90.0, 0.5)),
    },
    default_readout=[[0.97, 0.03], [0.06, 0.94]],
    name="test",
)


@pytest.mark.parametrize(
    "circuit",
    [
        _measured(2, bell()),
        _measured(5, ghz(5)),
        _measured(4, random_layers(4, 5, seed=3)),
        _measured(
            3,
            [
                Gate("h", (0,)),
                phase_damping(0, 0.3),
                Gate("h", (0,)),
                pauli_channel((1, 2), {"XY": 0.2, "ZI": 0.1}),
            ],
        ),
    ],
    ids=["bell", "ghz5", "random4x5", "pauli"],
)
def test_noisy_distributions_agree_with_the_density_matrix(circuit: Circuit) -> None:
    noisy = MODEL.apply(circuit)
    probs = exact_distribution(noisy)
    bits = sample_noisy(noisy, SHOTS, np.random.default_rng(1))["c"]
    assert bits.shape == (SHOTS, circuit.num_qubits)
    assert tv(probs, bits) < tv_bound(probs, SHOTS)


def test_two_qubit_kraus_channels_and_single_precision_agree() -> None:
    ad = amplitude_damping(0, 0.4)
    two = kraus_channel((0, 1), [np.kron(a, b) for a in ad.kraus for b in ad.kraus])
    circuit = _measured(2, [Gate("x", (0,)), Gate("x", (1,)), two])
    probs = exact_distribution(circuit)
    for dtype in (np.complex128, np.complex64):
        bits = sample_noisy(circuit, SHOTS, np.random.default_rng(2), dtype=dtype)["c"]
        assert tv(probs, bits) < tv_bound(probs, SHOTS)


def test_mid_circuit_measurement_readout_and_condition_follow_the_recorded_bit() -> None:
    lam = 0.3
    circuit = Circuit(
        2,
        [
            Gate("h", (0,)),
            Measure(0, "c", 0),
            ReadoutError("c", 0, [[0.9, 0.1], [0.25, 0.75]]),
            Gate("x", (1,), condition=Condition("c", 1, 0)),
            depolarizing(1, lam),
            Reset(0),
            Measure(1, "c", 1),
            Measure(0, "d", 0),
        ],
        {"c": 2, "d": 1},
    )
    readout = {0: [0.9, 0.1], 1: [0.25, 0.75]}
    probs: dict[tuple[int, ...], float] = {}
    for true in (0, 1):
        for rec in (0, 1):
            for flip in (0, 1):
                p = 0.5 * readout[true][rec] * (lam / 2 if flip else 1 - lam / 2)
                key = (rec, rec ^ flip)
                probs[key] = probs.get(key, 0.0) + p
    result = sample_noisy(circuit, SHOTS, np.random.default_rng(3))
    assert not result["d"].any()  # reset after the measurement
    assert tv(probs, result["c"]) < tv_bound(probs, SHOTS)


def test_the_same_seed_gives_the_same_bits_and_another_seed_others() -> None:
    noisy = MODEL.apply(_measured(4, random_layers(4, 3, seed=1)))
    a = sample_noisy(noisy, 500, np.random.default_rng(7))["c"]
    b = sample_noisy(noisy, 500, np.random.default_rng(7))["c"]
    c = sample_noisy(noisy, 500, np.random.default_rng(8))["c"]
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


def test_bits_do_not_depend_on_the_thread_count() -> None:
    noisy = MODEL.apply(_measured(15, ghz(15)))  # large enough for the threaded paths
    before = _kernel.get_num_threads()
    try:
        _kernel.set_num_threads(1)
        one = sample_noisy(noisy, 300, np.random.default_rng(4))["c"]
        _kernel.set_num_threads(2)
        two = sample_noisy(noisy, 300, np.random.default_rng(4))["c"]
    finally:
        _kernel.set_num_threads(before)
    assert np.array_equal(one, two)


def test_shots_are_grouped_the_noise_free_prefix_runs_once() -> None:
    # one channel at the end: every shot shares the prefix; the groups are the channel's
    # branches, so the engine reports at most 4 groups for 10,000 trajectories
    circuit = Circuit(3, [*ghz(3), depolarizing(0, 0.3)])
    obs = [PauliSum([PauliTerm("Z", (0,))])]
    program = compile_program(circuit, estimator=True)
    state = np.zeros(8, dtype=np.complex128)
    state[0] = 1
    evs = np.zeros(10_000)
    counts = np.zeros(10_000, dtype=np.int64)
    _kernel.run_trajectories(
        state,
        program.code,
        program.data,
        program.cond_bits,
        program.nclbits,
        program.terminal,
        10_000,
        1,
        x_masks=np.array([0], dtype=np.uint64),
        z_masks=np.array([1], dtype=np.uint64),
        out_evs=evs,
        out_counts=counts,
    )
    groups = int(np.count_nonzero(counts))
    assert 1 <= groups <= 4 * 4  # four branches in each of the engine's four batches
    assert counts.sum() == 10_000
    exact = density_matrix_expectations(circuit, obs, _kernel)
    assert exact[0] == pytest.approx(0.0, abs=1e-12)


def test_trajectory_expectations_agree_with_the_density_matrix_within_their_stds() -> None:
    ops = MODEL.apply(Circuit(3, random_layers(3, 4, seed=5))).operations
    circuit = Circuit(3, ops)
    obs = [
        PauliSum([PauliTerm("ZZ", (0, 1))]),
        PauliSum([PauliTerm("X", (2,), 0.5), PauliTerm("YZ", (0, 2), -1.0)]),
        PauliSum([PauliTerm("", (), 2.0)]),
    ]
    exact = density_matrix_expectations(circuit, obs, _kernel)
    oracle = []
    n = 3
    rho = np.zeros((8, 8), dtype=complex)
    rho[0, 0] = 1
    for op in circuit.operations:
        if isinstance(op, Gate):
            m, qs = _gate(op)
            u = _embed(m, qs, n)
            rho = u @ rho @ u.conj().T
        else:
            rho = sum(
                _embed(k, op.qubits, n) @ rho @ _embed(k, op.qubits, n).conj().T for k in op.kraus
            )
    paulis = {
        "X": np.array([[0, 1], [1, 0]]),
        "Y": np.array([[0, -1j], [1j, 0]]),
        "Z": np.diag([1, -1]),
    }
    for o in obs:
        total = 0.0
        for t in o.terms:
            m = np.eye(8, dtype=complex)
            for p, q in zip(t.paulis, t.qubits):
                m = _embed(paulis[p], (q,), n) @ m
            total += (t.coeff * np.trace(m @ rho)).real
        oracle.append(total)
    assert exact == pytest.approx(oracle, abs=1e-10)
    evs, stds = trajectory_expectations(circuit, obs, 4000, np.random.default_rng(9))
    assert np.all(np.abs(evs - exact) <= 5 * stds + 1e-12)
    assert stds[0] > 0 and stds[2] == 0


def test_payloads_with_noise_run_on_the_trajectory_engine_and_say_so() -> None:
    sim = StatevectorSimulator()
    noisy = MODEL.apply(_measured(2, bell()))
    clean = _measured(1, [Gate("x", (0,))])
    result = execute(
        "sampler",
        SamplerPayload((SamplerPub(noisy, None, 100), SamplerPub(clean, None, 100)), 1),
        sim,
    )
    assert result["pubs"][0]["method"] == "trajectories"
    assert result["pubs"][0]["noise"] == "circuit"
    assert result["pubs"][1]["method"] == "statevector"
    # a device model: applied to every circuit, named in the result
    result = execute("run", RunPayload((clean,), 50, seed=2), sim, noise=MODEL)
    assert result["results"][0]["noise"] == "test"
    # noise=False: ideal, even for channels the circuit holds
    result = execute(
        "run", RunPayload((noisy,), 50, seed=2, options={"noise_model": False}), sim, noise=MODEL
    )
    assert result["results"][0]["method"] == "statevector"
    est = execute(
        "estimator",
        EstimatorPayload(
            (
                EstimatorPub(
                    Circuit(2, MODEL.apply(Circuit(2, bell())).operations),
                    None,
                    PauliSum([PauliTerm("ZZ", (0, 1))]),
                ),
            )
        ),
        sim,
    )
    assert est["pubs"][0]["method"] == "density_matrix"
    assert 0 < est["pubs"][0]["evs"] < 1


def test_stabilizer_asked_for_a_noisy_clifford_circuit_runs_it_on_stim() -> None:
    # (a noisy non-Clifford circuit is refused: tests/sim/test_noisy_stabilizer.py)
    sim = StatevectorSimulator()
    payload = SamplerPayload(
        (SamplerPub(MODEL.apply(_measured(2, bell())), None, 10),), method="stabilizer"
    )
    pub = execute("sampler", payload, sim)["pubs"][0]
    assert pub["method"] == "stabilizer" and pub["registers"]["c"].shape == (10,)


def test_a_state_that_does_not_fit_is_refused_before_running() -> None:
    sim = StatevectorSimulator(max_memory=2**10)
    payload = RunPayload((MODEL.apply(_measured(8, ghz(8))),), 10)
    with pytest.raises(
        ResourceTooLargeError, match="noisy engine needs at least two 8-qubit states"
    ):
        execute("run", payload, sim)


def test_the_kernel_checks_a_malformed_program() -> None:
    program = compile_program(MODEL.apply(_measured(2, bell())))
    state = np.zeros(4, dtype=np.complex128)
    state[0] = 1
    out = np.zeros(20, dtype=np.uint8)
    args = (program.data, program.cond_bits, program.nclbits, program.terminal, 10, 1)
    with pytest.raises(ValueError, match="truncated"):
        _kernel.run_trajectories(state, program.code[:-1], *args, out_bits=out)
    bad = program.code.copy()
    bad[4 + 5] = 7  # the first gate's target qubit, out of range
    with pytest.raises(ValueError, match="qubits out of range"):
        _kernel.run_trajectories(state, bad, *args, out_bits=out)
    with pytest.raises(ValueError, match="out_bits must hold"):
        _kernel.run_trajectories(state, program.code, *args, out_bits=out[:3])
    with pytest.raises(TypeError, match="code must have dtype int64"):
        _kernel.run_trajectories(state, program.code.astype(np.int32), *args, out_bits=out)


def test_little_memory_runs_the_shots_in_smaller_calls() -> None:
    circuit = MODEL.apply(_measured(8, ghz(8)))
    state = 2**8 * 16
    bits = sample_noisy(circuit, 1000, np.random.default_rng(1), max_memory=6 * state)
    assert bits["c"].shape == (1000, 8)
    probs = exact_distribution(circuit)
    assert tv(probs, bits["c"]) < tv_bound(probs, 1000)
