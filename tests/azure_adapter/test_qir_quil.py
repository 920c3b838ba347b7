"""The Azure seed's inputs run: Q# compiled with ``qsharp.compile`` (QIR) and Quil programs,
in sessions, with the garbage-input rule and the failure policy applied."""

from __future__ import annotations

import warnings
from typing import Any

import pytest

from qsession_provider.azure import JobStatus, SessionJobFailurePolicy, SessionStatus

pytest.importorskip("pyqir")
pytest.importorskip("quil")

pytestmark = pytest.mark.timeout(120)

RANDOM_BITS = """
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

ADAPTIVE = """
operation Fixup() : Result[] {
    use (a, b) = (Qubit(), Qubit());
    H(a);
    let r = M(a);
    if r == One { X(b); }
    return [r, M(b)];
}
"""

BELL_QUIL = "DECLARE ro BIT[2]\nH 0\nCNOT 0 1\nMEASURE 0 ro[0]\nMEASURE 1 ro[1]\n"


@pytest.fixture
def qsharp() -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # qsharp's notice of its qdk rename
        return pytest.importorskip("qsharp")


def _finish(jobs: list[Any]) -> None:
    for job in jobs:
        job.wait_until_completed(print_progress=False)


def test_three_qsharp_jobs_in_a_session_as_the_seed_writes_them(qpu: Any, qsharp: Any) -> None:
    qsharp.init(target_profile=qsharp.TargetProfile.Base)
    qsharp.eval(RANDOM_BITS)
    angle = [0.0, 0.0]
    with qpu.open_session(name="Q# session of three jobs") as session:
        jobs = []
        for step in range(3):
            program = qsharp.compile(f"GenerateRandomBits(2, {angle})")
            jobs.append(
                qpu.submit(
                    input_data=program,
                    name=f"Job {step + 1}",
                    shots=100,
                    input_params={"seed": step},
                )
            )
            angle[step % 2] += 1
    _finish(jobs)
    assert [j.details.name for j in session.list_jobs()] == ["Job 1", "Job 2", "Job 3"]
    for job in jobs:
        assert job.details.status is JobStatus.SUCCEEDED
        histogram = job.get_results()
        assert set(histogram) <= {"[0, 0]", "[0, 1]", "[1, 0]", "[1, 1]"}
        assert sum(histogram.values()) == pytest.approx(1.0)
    assert session.refresh().details.status is SessionStatus.SUCCEEDED


def test_an_adaptive_program_branches_on_its_results(sv: Any, qsharp: Any) -> None:
    qsharp.init(target_profile=qsharp.TargetProfile.Adaptive_RI)
    qsharp.eval(ADAPTIVE)
    job = sv.submit(qsharp.compile("Fixup()"), shots=300, input_params={"seed": 3})
    _finish([job])
    assert set(job.get_results()) == {"[0, 0]", "[1, 1]"}  # b follows r


def test_quil_in_a_continue_session_after_garbage(qpu: Any) -> None:
    policy = SessionJobFailurePolicy.CONTINUE
    with qpu.open_session(name="JobFailurePolicy Continue", job_failure_policy=policy) as s:
        jobs = [
            qpu.submit(input_data="garbage", name="Job 1"),
            qpu.submit(input_data=BELL_QUIL, name="Job 2", shots=100),
            qpu.submit(input_data=BELL_QUIL, name="Job 3", shots=100),
        ]
    _finish(jobs)
    first, *rest = jobs
    assert first.details.status is JobStatus.FAILED
    assert first.details.error_data.code == "InvalidInputData"
    assert "QIR or Quil" in first.details.error_data.message
    for job in rest:
        assert job.details.status is JobStatus.SUCCEEDED
        assert set(job.get_results()) <= {"[0, 0]", "[1, 1]"}
    assert s.refresh().details.status is SessionStatus.FAILED  # a failure, then closed


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("DECLARE ro BIT[1]\nLABEL @top\nH 0\nJUMP @top", "'LABEL @top' is not supported"),
        ("%Q = type opaque\ndefine void @main() {\n  ret void\n}", "exactly one entry point"),
        (b"BC\xc0\xde\x01\x02", "not a QIR module"),
    ],
    ids=["quil loop", "qir without entry point", "bad bitcode"],
)
def test_bad_programs_fail_their_job_and_abort_the_session(
    qpu: Any, data: Any, message: str
) -> None:
    with qpu.open_session(name="abort") as session:
        bad = qpu.submit(input_data=data, name="bad")
        _finish([bad])
    assert bad.details.status is JobStatus.FAILED
    assert message in bad.details.error_data.message
    assert session.refresh().details.status is SessionStatus.FAILED
