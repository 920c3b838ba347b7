"""Cirq circuit + sweep → neutral payload (``_payloads``) → simulator → JobResult (``_results``).

Checked against cirq.Simulator.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
import pytest

cirq = pytest.importorskip("cirq")
sympy = pytest.importorskip("sympy")

from qsession_provider.cirq._payloads import cirq_sampler_payload  # noqa: E402
from qsession_provider.cirq._results import JobResult, cirq_results, sweep_results  # noqa: E402
from qsession_provider.errors import InputError, UnboundParameterError  # noqa: E402
from qsession_provider.sim import StatevectorSimulator  # noqa: E402
from qsession_provider.sim.execute import execute  # noqa: E402

SIM = StatevectorSimulator()


def run_sweep(circuit: Any, resolvers: list[Any], repetitions: int, seed: int = 5) -> list[Any]:
    payload, _ = cirq_sampler_payload(circuit, resolvers, repetitions, seed=seed)
    return sweep_results(execute("sampler", payload, SIM), resolvers, job_id="job-7")


def tvd(a: Counter[int], b: Counter[int]) -> float:
    na, nb = sum(a.values()), sum(b.values())
    return 0.5 * sum(abs(a[k] / na - b[k] / nb) for k in set(a) | set(b))


class OpaqueRx(cirq.Gate):
    """An rx with no decomposition: it can be translated only once its angle is resolved."""

    def __init__(self, angle: Any) -> None:
        self.angle = angle

    def _num_qubits_(self) -> int:
        return 1

    def _is_parameterized_(self) -> bool:
        return cirq.is_parameterized(self.angle)

    def _parameter_names_(self) -> Any:
        return cirq.parameter_names(self.angle)

    def _resolve_parameters_(self, resolver: Any, recursive: bool) -> OpaqueRx:
        return OpaqueRx(resolver.value_of(self.angle, recursive))

    def _has_unitary_(self) -> bool:
        return not cirq.is_parameterized(self.angle)

    def _unitary_(self) -> np.ndarray:
        return cirq.unitary(cirq.rx(float(self.angle)))


def test_sweep_matches_cirq_simulator() -> None:
    q = cirq.LineQubit.range(3)
    a, b = sympy.Symbol("a"), sympy.Symbol("b")
    circuit = cirq.Circuit(
        cirq.rx(a).on(q[0]),
        cirq.ry(2 * b).on(q[1]),
        cirq.CNOT(q[0], q[2]),
        cirq.measure(q[2], q[0], key="m"),
        cirq.measure(q[1], key="z"),
    )
    resolvers = list(cirq.to_resolvers(cirq.Linspace("a", 0, np.pi, 3) * cirq.Points("b", [0.3])))
    payload, qubits = cirq_sampler_payload(circuit, resolvers, 4000, seed=1)
    assert len(payload.pubs) == 1 and payload.pubs[0].values.shape == (3, 2)
    assert qubits == q
    ours = sweep_results(execute("sampler", payload, SIM), resolvers, job_id="job-7")
    ref = cirq.Simulator(seed=2).run_sweep(circuit, resolvers, repetitions=4000)
    assert len(ours) == len(ref) == 3
    for mine, theirs in zip(ours, ref):
        assert isinstance(mine, JobResult) and isinstance(mine, cirq.ResultDict)
        assert mine.job_id == "job-7"
        assert mine.params == theirs.params
        assert set(mine.measurements) == set(theirs.measurements) == {"m", "z"}
        assert mine.measurements["m"].dtype == np.int8 and mine.measurements["m"].shape == (4000, 2)
        assert mine.repetitions == 4000
        for key in ("m", "z"):
            assert tvd(mine.histogram(key=key), theirs.histogram(key=key)) < 0.04


def test_column_order_follows_measurement_gate() -> None:
    q = cirq.LineQubit.range(3)
    circuit = cirq.Circuit(cirq.X(q[2]), cirq.measure(q[2], q[0], q[1], key="m"))
    (ours,) = run_sweep(circuit, [cirq.ParamResolver({})], 10)
    (ref,) = cirq.Simulator().run_sweep(circuit, [cirq.ParamResolver({})], repetitions=10)
    np.testing.assert_array_equal(ours.measurements["m"], ref.measurements["m"])
    np.testing.assert_array_equal(ours.records["m"], ref.records["m"])
    assert ours.histogram(key="m") == ref.histogram(key="m") == Counter({4: 10})


def test_unparameterized_circuit_with_several_resolvers() -> None:
    q = cirq.LineQubit(0)
    circuit = cirq.Circuit(cirq.H(q), cirq.measure(q, key="h"))
    resolvers = [cirq.ParamResolver({}), cirq.ParamResolver({"unused": 1.0})]
    payload, _ = cirq_sampler_payload(circuit, resolvers, 100, seed=None)
    assert payload.pubs[0].values.shape == (2, 0)
    results = sweep_results(execute("sampler", payload, SIM), resolvers, job_id=None)
    assert [r.params for r in results] == resolvers
    assert all(r.job_id is None for r in results)


def test_fallback_resolves_per_resolver() -> None:
    q = cirq.LineQubit.range(2)
    t = sympy.Symbol("t")
    circuit = cirq.Circuit(OpaqueRx(t).on(q[0]), cirq.CNOT(*q), cirq.measure(*q, key="m"))
    resolvers = [cirq.ParamResolver({"t": v}) for v in (0.0, np.pi / 3, np.pi)]
    payload, qubits = cirq_sampler_payload(circuit, resolvers, 3000, seed=3)
    assert len(payload.pubs) == 3 and all(p.values.shape == (1, 0) for p in payload.pubs)
    assert qubits == q
    ours = sweep_results(execute("sampler", payload, SIM), resolvers, job_id="j")
    ref = cirq.Simulator(seed=4).run_sweep(circuit, resolvers, repetitions=3000)
    for mine, theirs in zip(ours, ref):
        assert mine.params == theirs.params
        assert tvd(mine.histogram(key="m"), theirs.histogram(key="m")) < 0.04


def test_cirq_results_and_job_result() -> None:
    bits = np.array([[1, 0], [0, 1], [1, 1]], dtype=np.uint8)
    result = cirq_results({"k": bits}, {"x": 0.5}, job_id="abc")
    assert result.job_id == "abc" and result.params == cirq.ParamResolver({"x": 0.5})
    assert result.measurements["k"].dtype == np.int8
    assert result.histogram(key="k") == Counter({2: 1, 1: 1, 3: 1})
    assert "job_id='abc'" in repr(result)
    plain = cirq.ResultDict(params=result.params, measurements={"k": bits.astype(np.int8)})
    assert result == plain
    copied = JobResult.from_result(plain, job_id="other")
    assert copied.job_id == "other" and copied == plain
    with pytest.raises(InputError, match="repetitions, qubits"):
        cirq_results({"k": np.zeros(3)}, None, job_id=None)


def test_bad_input() -> None:
    q = cirq.LineQubit(0)
    a = sympy.Symbol("a")
    measured = cirq.Circuit(cirq.rx(a).on(q), cirq.measure(q, key="m"))
    with pytest.raises(InputError, match="no measurements"):
        cirq_sampler_payload(cirq.Circuit(cirq.H(q)), [cirq.ParamResolver({})], 10, seed=None)
    with pytest.raises(UnboundParameterError, match="resolver 1: .*'a'"):
        cirq_sampler_payload(measured, [{"a": 1.0}, {"b": 2.0}], 10, seed=None)
    with pytest.raises(InputError, match="repetitions"):
        cirq_sampler_payload(measured, [{"a": 1.0}], 0, seed=None)
    with pytest.raises(InputError, match="no parameter resolvers"):
        cirq_sampler_payload(measured, [], 10, seed=None)
    with pytest.raises(InputError, match="seed"):
        cirq_sampler_payload(measured, [{"a": 1.0}], 10, seed=-3)
    opaque = cirq.Circuit(OpaqueRx(a).on(q), cirq.measure(q, key="m"))
    with pytest.raises(UnboundParameterError, match=r"resolver 0 .*\['a'\]"):
        cirq_sampler_payload(opaque, [{"b": 1.0}], 10, seed=None)
    payload, _ = cirq_sampler_payload(measured, [{"a": 1.0}], 10, seed=None)
    with pytest.raises(InputError, match="1 parameter sets for 2 resolvers"):
        sweep_results(execute("sampler", payload, SIM), [{"a": 1.0}, {"a": 2.0}], job_id=None)
