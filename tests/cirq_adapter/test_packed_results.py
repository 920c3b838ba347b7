"""The Cirq face unpacks each resolver's packed bits; results stored unpacked still read."""

from __future__ import annotations

import numpy as np
import pytest

cirq = pytest.importorskip("cirq")
sympy = pytest.importorskip("sympy")

from qsession_provider.cirq import Sampler  # noqa: E402
from qsession_provider.cirq._results import sweep_results  # noqa: E402
from qsession_provider.core.clock import VirtualClock  # noqa: E402
from qsession_provider.core.ir import PackedBits  # noqa: E402
from qsession_provider.errors import InputError  # noqa: E402


def pattern_circuit() -> cirq.Circuit:
    """Keys of 1, 3, 8 and 11 qubits over 6 qubits with X on 0, 2, 5 (and X**t on 1)."""
    q = cirq.LineQubit.range(6)
    t = sympy.Symbol("t")
    sizes = {"one": 1, "three": 3, "byte": 8, "wide": 11}
    ops = [cirq.X(q[0]), cirq.X(q[2]), cirq.X(q[5]), cirq.X(q[1]) ** t]
    measures = []
    for offset, (key, size) in enumerate(sizes.items()):
        # A qubit can be measured once per moment: one key per moment, cycling over qubits.
        qubits = [q[(offset + j) % 6] for j in range(size)]
        measures.append(cirq.Moment(cirq.measure(*qubits[:6], key=f"{key}_a")))
        if size > 6:
            measures.append(cirq.Moment(cirq.measure(*qubits[6:], key=f"{key}_b")))
    return cirq.Circuit(cirq.Moment(ops), *measures)


def test_sampler_matches_cirq_simulator_for_every_key() -> None:
    sampler = Sampler(store=":memory:", clock=VirtualClock(), keep_results=4)
    try:
        assert sampler._runtime.store.keep_results == 4
        circuit = pattern_circuit()
        sweep = cirq.Points("t", [0, 1, 0])
        ours = sampler.run_sweep(circuit, sweep, repetitions=7)
        ref = cirq.Simulator().run_sweep(circuit, sweep, repetitions=7)
        assert len(ours) == len(ref) == 3
        for got, want in zip(ours, ref):
            assert set(got.measurements) == set(want.measurements)
            for key, bits in want.measurements.items():
                assert got.measurements[key].dtype == np.int8
                np.testing.assert_array_equal(got.measurements[key], bits)
    finally:
        sampler._runtime.shutdown(wait=False, cancel_pending=True)


def test_packed_and_unpacked_results_read_the_same() -> None:
    rng = np.random.default_rng(3)
    unpacked = {
        "m": rng.integers(0, 2, (2, 5, 11), dtype=np.uint8),
        "z": np.zeros((2, 5, 0), np.uint8),
    }
    packed = {key: PackedBits.from_bits(bits) for key, bits in unpacked.items()}
    resolvers = [{"t": 0}, {"t": 1}]
    old = sweep_results({"pubs": [{"registers": unpacked}]}, resolvers, job_id="j")
    new = sweep_results({"pubs": [{"registers": packed}]}, resolvers, job_id="j")
    assert old == new
    np.testing.assert_array_equal(new[1].measurements["m"], unpacked["m"][1])
    assert new[0].measurements["z"].shape == (5, 0)
    # One pub per resolver (the non-symbolic path) joins the pubs' packed bits.
    pubs = [{"registers": {k: v[i : i + 1] for k, v in packed.items()}} for i in range(2)]
    assert sweep_results({"pubs": pubs}, resolvers, job_id="j") == new


def test_pubs_of_different_widths_for_one_key_are_refused() -> None:
    pubs = [
        {"registers": {"m": PackedBits.from_bits(np.zeros((1, 4, 3)))}},
        {"registers": {"m": PackedBits.from_bits(np.zeros((1, 4, 2)))}},
    ]
    with pytest.raises(InputError, match="different numbers of qubits"):
        sweep_results({"pubs": pubs}, [{}, {}], job_id="j")
