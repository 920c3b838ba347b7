"""``input_data`` (``azure._input``): OpenQASM, IR, Qiskit and Cirq circuits, garbage, shots."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

from qsession_provider.azure import JobStatus
from qsession_provider.core.ir.circuit import Circuit, Measure

pytestmark = pytest.mark.timeout(60)


def bell_only(job: Any) -> None:
    """The job is a finished Bell-state job: only 00 and 11, probabilities sum to 1."""
    results = job.get_results()
    assert set(results) <= {"[0, 0]", "[1, 1]"} and len(results) == 2
    assert sum(results.values()) == pytest.approx(1.0)


# -- inputs -----------------------------------------------------------------------------------
def test_openqasm_2_and_3_text(sv: Any, bell: str, bell3: str) -> None:
    for text in (bell, bell3, bell.encode()):
        bell_only(sv.submit(text, shots=200))


def test_ir_circuit(sv: Any, bell_ir: Circuit) -> None:
    bell_only(sv.submit(bell_ir, shots=200))


def test_qiskit_circuit(sv: Any) -> None:
    qiskit = pytest.importorskip("qiskit")
    qc = qiskit.QuantumCircuit(2, 2)
    qc.h(0)
    qc.cx(0, 1)
    qc.measure([0, 1], [0, 1])
    bell_only(sv.submit(qc, shots=200))


def test_cirq_circuit(sv: Any) -> None:
    cirq = pytest.importorskip("cirq")
    a, b = cirq.LineQubit.range(2)
    circuit = cirq.Circuit(cirq.H(a), cirq.CNOT(a, b), cirq.measure(a, b, key="m"))
    bell_only(sv.submit(circuit, shots=200))


GARBAGE = [
    ("garbage", "input_data 'garbage' is not a circuit"),
    ("OPENQASM 2.0;\nqreg q[1];\nfoo q[0];", "not valid OpenQASM 2: "),
    ("OPENQASM 3.0;\nqubit q;\nnope q;", "not valid OpenQASM 3: "),
    ("OPENQASM 4.0;", "OpenQASM version 4 is not supported"),
    (b"\xff\xfe", "neither QIR bitcode nor UTF-8"),
    (b"BC\xc0\xde\x00\x01", "is not a QIR module"),
    ("DECLARE ro BIT[1]\nH 0\nJUMP @end", "'JUMP @end' is not supported"),
    ("DECLARE ro BIT[1]\nMEASURE 0 ro[3]", "outside its 1 bits"),
    (42, "unsupported input_data of type int"),
    (Circuit(30, [Measure(29, "c", 0)], {"c": 1}), "has 30 qubits, more than the device's 27"),
]


@pytest.mark.parametrize(("data", "message"), GARBAGE, ids=[m for _, m in GARBAGE])
def test_garbage_input_creates_a_failed_job(qpu: Any, bell: str, data: Any, message: str) -> None:
    job = qpu.submit(data, name="bad")
    job.wait_until_completed(print_progress=False)
    assert job.details.status is JobStatus.FAILED
    assert job.details.error_data.code == "InvalidInputData"
    assert message in job.details.error_data.message
    assert not job.has_succeeded() and job.has_completed()
    with pytest.raises(RuntimeError) as info:
        job.get_results()
    assert str(info.value).startswith(
        "Cannot retrieve results as job execution failed(status: Failed.error: "
        "{'code': 'InvalidInputData', 'message': "
    )
    after = qpu.submit(bell, shots=50)  # nothing else broke
    after.wait_until_completed(print_progress=False)
    assert after.has_succeeded()


def test_unbound_parameters_are_invalid_input(sv: Any) -> None:
    qiskit = pytest.importorskip("qiskit")
    qc = qiskit.QuantumCircuit(1, 1)
    qc.rx(qiskit.circuit.Parameter("t"), 0)
    qc.measure(0, 0)
    job = sv.submit(qc)
    job.wait_until_completed(print_progress=False)
    assert "unbound parameters" in job.details.error_data.message


# -- shots --------------------------------------------------------------------------------------
def test_shots_default_argument_and_input_params(sv: Any, bell: str) -> None:
    assert len(sv.submit(bell).get_results_shots()) == 500
    job = sv.submit(bell, shots=30, input_params={"other": 1})
    assert job.details.input_params == {"other": 1, "shots": 30}
    assert len(job.get_results_shots()) == 30
    assert len(sv.submit(bell, input_params={"shots": 20}).get_results_shots()) == 20


def test_shots_win_over_input_params_with_azures_warning(sv: Any, bell: str) -> None:
    with pytest.warns(UserWarning) as record:
        job = sv.submit(bell, shots=12, input_params={"shots": 99})
    assert str(record[0].message) == (
        "Parameter 'shots' conflicts with the 'shots' field of the 'input_params' parameter. "
        "Please, provide only one option for setting shots. Defaulting to 'shots' parameter."
    )
    assert record[0].filename == __file__
    assert job.details.input_params["shots"] == 12 and len(job.get_results_shots()) == 12


def test_seed_makes_results_reproducible(sv: Any, bell: str) -> None:
    shots = [sv.submit(bell, shots=64, input_params={"seed": 5}).get_results_shots() for _ in "ab"]
    assert shots[0] == shots[1]


# -- optional frameworks ----------------------------------------------------------------------
_WITHOUT_QISKIT = """
import sys
sys.modules["qiskit"] = None
from qsession_provider.azure import Workspace
loaded = sorted({m.split(".")[0] for m in sys.modules} & {"cirq", "sympy", "qiskit_ibm_runtime"})
print("loaded:", loaded)
target = Workspace(store=":memory:").get_targets("statevector")
job = target.submit("garbage")
job.wait_until_completed(print_progress=False)
print("garbage:", job.details.error_data.code)
try:
    target.submit('OPENQASM 2.0; qreg q[1];')
except ImportError as exc:
    print("qasm:", exc)
"""


def test_the_package_imports_no_framework_and_names_the_extra_when_one_is_needed() -> None:
    out = subprocess.run(
        [sys.executable, "-c", _WITHOUT_QISKIT], check=True, capture_output=True, text=True
    ).stdout
    assert "loaded: []" in out
    assert "garbage: InvalidInputData" in out
    assert "qasm: OpenQASM 2 input_data needs the optional dependency 'qiskit.qasm2'" in out
    assert "pip install 'qsession-provider[qiskit]'" in out
