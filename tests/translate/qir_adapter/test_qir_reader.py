"""QIR -> IR: what ``qsharp.compile`` produces (base and adaptive profile), and refusals.

Programs are compiled with the ``qsharp`` package when it is installed; the refusals are
hand-written LLVM text, so they run with pyqir alone.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

pytest.importorskip("pyqir")

from qsession_provider.core.ir.circuit import Gate, Measure  # noqa: E402
from qsession_provider.sim import StatevectorSimulator  # noqa: E402
from qsession_provider.translate.qir import UNRECORDED, QirError, qir_to_ir  # noqa: E402

SIM = StatevectorSimulator()

RANDOM_BITS = """
import Std.Measurement.*;
operation GenerateRandomBits(n: Int, angle: Double[]) : Result[] {
   use qubits = Qubit[n];
   for q in qubits { H(q); }
   R(PauliZ, angle[0], qubits[0]);
   R(PauliZ, angle[1], qubits[1]);
   let results = MeasureEachZ(qubits);
   ResetAll(qubits);
   return results;
}
"""

CORRECTED = """
operation Corrected() : Result[] {
    use (a, b) = (Qubit(), Qubit());
    H(a);
    let r = M(a);
    if r == One { X(b); } else { Z(b); }
    let unrecorded = M(b);
    if unrecorded == One { X(a); }
    return [M(a), r];
}
"""


def _qsharp(profile: str) -> object:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # qsharp -> qdk rename notice
        qsharp = pytest.importorskip("qsharp")
        qsharp.init(target_profile=getattr(qsharp.TargetProfile, profile))
    return qsharp


def _counts(circuit: object, shots: int = 400) -> dict[tuple[int, ...], int]:
    bits = SIM.sample(circuit, shots, None, np.random.default_rng(5))["c"]
    rows = [tuple(int(b) for b in row) for row in bits]
    return {row: rows.count(row) for row in set(rows)}


def test_the_seeds_random_bits_program_reads_as_its_circuit() -> None:
    qsharp = _qsharp("Base")
    qsharp.eval(RANDOM_BITS)
    circuit = qir_to_ir(qsharp.compile("GenerateRandomBits(2, [1.0, 0.5])")._repr_qir_())
    gates = [(op.name, op.qubits, op.params) for op in circuit.operations if isinstance(op, Gate)]
    assert ("rz", (0,), (1.0,)) in gates and ("rz", (1,), (0.5,)) in gates
    assert circuit.registers == {"c": 2}
    counts = _counts(circuit)
    assert set(counts) == {(0, 0), (0, 1), (1, 0), (1, 1)}  # uniform random bits


def test_adaptive_branches_become_conditions_and_unrecorded_results_stay_out() -> None:
    qsharp = _qsharp("Adaptive_RI")
    qsharp.eval(CORRECTED)
    circuit = qir_to_ir(str(qsharp.compile("Corrected()")))
    assert circuit.registers == {"c": 2, UNRECORDED: 1}
    conditioned = [op for op in circuit.operations if getattr(op, "condition", None)]
    assert {op.condition.value for op in conditioned} == {0, 1}
    # a collapses to r; b becomes r (X when One); a is flipped when b reads One, so a ends
    # 0: the outcome [M(a), r] is [0, r].
    counts = _counts(circuit)
    assert set(counts) <= {(0, 0), (0, 1)} and len(counts) == 2


def _module(body: str, declarations: str = "") -> str:
    return f"""
%Qubit = type opaque
%Result = type opaque

define void @main() #0 {{
{body}
}}

declare void @__quantum__qis__h__body(%Qubit*)
declare void @__quantum__qis__x__body(%Qubit*)
declare void @__quantum__qis__mz__body(%Qubit*, %Result*)
declare i1 @__quantum__qis__read_result__body(%Result*)
declare void @__quantum__rt__result_record_output(%Result*, i8*)
{declarations}
attributes #0 = {{ {ATTRIBUTES} }}
"""


ATTRIBUTES = (
    '"entry_point" "qir_profiles"="adaptive_profile" "required_num_qubits"="2" '
    '"required_num_results"="2"'
)


def test_hand_written_base_module_with_bitcode_round_trip() -> None:
    pyqir = pytest.importorskip("pyqir")
    text = _module(
        """entry:
  call void @__quantum__qis__h__body(%Qubit* null)
  call void @__quantum__qis__mz__body(%Qubit* null, %Result* inttoptr (i64 1 to %Result*))
  call void @__quantum__rt__result_record_output(%Result* inttoptr (i64 1 to %Result*), i8* null)
  ret void"""
    )
    bitcode = pyqir.Module.from_ir(pyqir.Context(), text).bitcode
    for program in (text, bitcode):
        circuit = qir_to_ir(program)
        assert [type(op).__name__ for op in circuit.operations] == ["Gate", "Measure"]
        measure = circuit.operations[1]
        assert isinstance(measure, Measure) and (measure.register, measure.bit) == ("c", 0)


LOOP = """entry:
  br label %again
again:
  call void @__quantum__qis__h__body(%Qubit* null)
  br label %again"""

NESTED = """entry:
  call void @__quantum__qis__mz__body(%Qubit* null, %Result* null)
  %r = call i1 @__quantum__qis__read_result__body(%Result* null)
  br i1 %r, label %then, label %done
then:
  %s = call i1 @__quantum__qis__read_result__body(%Result* null)
  br i1 %s, label %inner, label %done
inner:
  call void @__quantum__qis__x__body(%Qubit* null)
  br label %done
done:
  ret void"""

UNKNOWN_GATE = """entry:
  call void @__quantum__qis__frobnicate__body(%Qubit* null)
  ret void"""

DYNAMIC = """entry:
  %q = call %Qubit* @__quantum__rt__qubit_allocate()
  call void @__quantum__qis__h__body(%Qubit* %q)
  ret void"""


@pytest.mark.parametrize(
    ("body", "declarations", "message"),
    [
        (LOOP, "", "loops are not supported"),
        (NESTED, "", "not an if/else of straight-line blocks"),
        (UNKNOWN_GATE, "declare void @__quantum__qis__frobnicate__body(%Qubit*)", "frobnicate"),
        (DYNAMIC, "declare %Qubit* @__quantum__rt__qubit_allocate()", "qubit_allocate"),
    ],
    ids=["loop", "nested", "unknown gate", "dynamic qubit"],
)
def test_what_cannot_be_read_is_a_clear_error(body: str, declarations: str, message: str) -> None:
    with pytest.raises(QirError, match=message):
        qir_to_ir(_module(body, declarations))


def test_text_that_is_not_llvm_is_a_clear_error() -> None:
    with pytest.raises(QirError, match="not a QIR module"):
        qir_to_ir("this is not LLVM")
    with pytest.raises(QirError, match="not a QIR module"):
        qir_to_ir(b"BC\xc0\xde\x00garbage")
