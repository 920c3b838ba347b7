"""``Target.submit`` inputs and shots, ``Job`` details, waiting and results, garbage input."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from typing import Any

import pytest

from qsession_provider.azure import JobStatus, Target, Workspace
from qsession_provider.core.ir.circuit import Circuit, Gate, Measure
from qsession_provider.errors import DeviceNotFoundError

pytestmark = pytest.mark.timeout(60)

BELL_IR = Circuit(
    2,
    [Gate("h", (0,)), Gate("x", (1,), controls=(0,)), Measure(0, "c", 0), Measure(1, "c", 1)],
    {"c": 2},
)


def bell_only(job: Any) -> None:
    """The job is a finished Bell-state job: only 00 and 11, probabilities sum to 1."""
    results = job.get_results()
    assert set(results) <= {"[0, 0]", "[1, 1]"} and len(results) == 2
    assert sum(results.values()) == pytest.approx(1.0)


# -- inputs -----------------------------------------------------------------------------------
def test_openqasm_2_and_3_text(sv: Any, bell: str, bell3: str) -> None:
    for text in (bell, bell3, bell.encode()):
        bell_only(sv.submit(text, shots=200))


def test_ir_program(sv: Any) -> None:
    bell_only(sv.submit(BELL_IR, shots=200))


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
    (b"\xff\xfe", "not UTF-8"),
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


# -- details ------------------------------------------------------------------------------------
def test_job_details(workspace: Workspace, qpu: Any, bell: str) -> None:
    session = qpu.open_session(name="s")
    job = qpu.submit(
        bell, name="my job", shots=40, priority="High", tags=["x"], metadata={"k": "v"}
    )
    assert uuid.UUID(job.id).version == 1
    assert job.details.status is JobStatus.WAITING or job.details.status is JobStatus.EXECUTING
    job.wait_until_completed(print_progress=False)
    d = job.details
    assert (d.name, d.target, d.provider_id, d.session_id) == (
        "my job",
        "emulated_falcon_27",
        "qsession",
        session.id,
    )
    assert d.status is JobStatus.SUCCEEDED and d.error_data is None
    assert d.creation_time <= d.begin_execution_time < d.end_execution_time
    assert d.input_params == {"shots": 40} and d.metadata == {"k": "v"}
    assert d.priority == "High" and d.tags == ["x"] and d.job_type == "QuantumComputing"
    assert d.item_type == "Job" and job.item_type == "Job"
    assert d.output_data_uri == f"qsession://{workspace.store}/jobs/{job.id}/output"
    assert d.output_data_format == "microsoft.quantum-results.v2"
    assert workspace.get_job(job.id).details == d


def test_unknown_submit_option_and_unknown_target(workspace: Workspace, sv: Any) -> None:
    with pytest.raises(TypeError, match="'colour'"):
        sv.submit("x", colour="red")
    with pytest.raises(DeviceNotFoundError):
        Target(workspace, "ionq.simulator")


def test_target_fields(slow: Any, bell: str) -> None:
    assert slow.current_availability == "Available" and slow.average_queue_time == 0
    slow.submit(bell, shots=1)
    slow.submit(bell, shots=1)
    slow.refresh()
    assert slow.average_queue_time == 60.0  # two 60 s jobs on two slots
    assert slow.input_data_format == "qsession.circuit.v1"


# -- waiting and results ----------------------------------------------------------------------
def test_wait_does_not_sleep_on_a_virtual_clock(
    qpu: Any, clock: Any, bell: str, capsys: Any
) -> None:
    job = qpu.submit(bell, shots=100)
    start, wall = clock.now(), time.monotonic()
    job.wait_until_completed()
    assert clock.now() - start > 1.0 and time.monotonic() - wall < 5
    assert job.has_succeeded()
    assert set(capsys.readouterr().out) == {"."}  # azure's progress dots, on stdout
    qpu.submit(bell, shots=100).wait_until_completed(print_progress=False)
    assert capsys.readouterr().out == ""


def test_wait_timeout(slow: Any, bell: str) -> None:
    job = slow.submit(bell, shots=1)
    with pytest.raises(TimeoutError, match="^The wait time has exceeded 5 seconds.$"):
        job.wait_until_completed(timeout_secs=5, print_progress=False)
    with pytest.raises(TimeoutError):
        job.get_results(timeout_secs=1)


def test_results_histogram_and_shots(sv: Any, bell: str) -> None:
    job = sv.submit(bell, shots=100, input_params={"seed": 1})
    probabilities = job.get_results()
    histogram = job.get_results_histogram()
    shots = job.get_results_shots()
    assert len(shots) == 100 and all(s in ([0, 0], [1, 1]) for s in shots)
    assert histogram["[0, 0]"] == {"outcome": [0, 0], "count": shots.count([0, 0])}
    assert probabilities["[1, 1]"] == shots.count([1, 1]) / 100


def test_several_registers_give_tuples(sv: Any) -> None:
    text = """OPENQASM 2.0;
include "qelib1.inc";
qreg q[3];
creg a[1];
creg b[2];
x q[0];
x q[2];
measure q[0] -> a[0];
measure q[1] -> b[0];
measure q[2] -> b[1];
"""
    job = sv.submit(text, shots=10)
    assert job.get_results() == {"([1], [0, 1])": 1.0}
    assert job.get_results_histogram() == {"([1], [0, 1])": {"outcome": ([1], [0, 1]), "count": 10}}
    assert job.get_results_shots()[0] == ([1], [0, 1])


def test_has_completed_accepts_classic_and_v2_names(sv: Any, bell: str) -> None:
    job = sv.submit(bell, shots=1)
    for status, completed, succeeded in [
        (JobStatus.COMPLETED, True, True),
        (JobStatus.SUCCEEDED, True, True),
        (JobStatus.FAILED, True, False),
        (JobStatus.CANCELLED, True, False),
        (JobStatus.QUEUED, False, False),
        (JobStatus.WAITING, False, False),
        (JobStatus.EXECUTING, False, False),
    ]:
        job.details.status = status
        assert (job.has_completed(), job.has_succeeded()) == (completed, succeeded)


def test_cancel_a_queued_job(qpu: Any, bell: str) -> None:
    running = qpu.submit(bell, shots=1)
    queued = qpu.submit(bell, shots=1)
    queued.cancel()
    assert queued.details.status is JobStatus.CANCELLED
    assert queued.details.cancellation_time is not None
    with pytest.raises(RuntimeError, match=r"failed\(status: Cancelled\.error: "):
        queued.get_results()
    running.wait_until_completed(print_progress=False)
    assert running.has_succeeded()


def test_jobs_of_other_programs_return_their_neutral_result(
    workspace: Workspace, runtime: Any
) -> None:
    from qsession_provider.core.ir.payload import SamplerPayload, SamplerPub

    core = runtime.submit("sampler", "statevector", SamplerPayload((SamplerPub(BELL_IR, None, 8),)))
    job = workspace.get_job(core.id)
    assert job.details.input_data_format == "sampler" and job.details.provider_id == "qsession"
    assert set(job.get_results()) == {"pubs"}
    with pytest.raises(ValueError, match="has no shot outcomes"):
        job.get_results_histogram()
    with pytest.raises(ValueError, match="has no shot outcomes"):
        job.get_results_shots()


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
