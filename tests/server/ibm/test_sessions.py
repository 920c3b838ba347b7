"""IBM's session documentation, run by the unchanged qiskit-ibm-runtime client on our server.

Each test is one pattern of "Run jobs in a session" (the session class and the context
manager, ``max_time``, close with queued jobs, cancel, two primitives in one session, two
VQE threads with job tags, status and details, the session's jobs) and of batches, in a
client process that imports only ``qiskit_ibm_runtime`` and ``qiskit``. The server runs
on a virtual clock, so the emulated QPU's job times and the session timers pass at once.
"""

from __future__ import annotations

from pathlib import Path

from ..conftest import ServerProcess
from .conftest import FALCON, run_client

#: Client code that every pattern starts with: the backend and a Bell circuit made ISA.
_SETUP = f"""
from qiskit import QuantumCircuit
from qiskit.transpiler import generate_preset_pass_manager
from qiskit.quantum_info import SparsePauliOp
from qiskit_ibm_runtime import Session, Batch, SamplerV2 as Sampler, EstimatorV2 as Estimator
backend = service.backend({FALCON!r})
pm = generate_preset_pass_manager(backend=backend, optimization_level=1, seed_transpiler=1)
bell = QuantumCircuit(2)
bell.h(0)
bell.cx(0, 1)
measured = bell.copy()
measured.measure_all()
isa = pm.run(measured)
isa_bell = pm.run(bell)
zz = SparsePauliOp("ZZ").apply_layout(isa_bell.layout)
"""


def test_session_class_runs_jobs_and_closes(server: ServerProcess, tmp_path: Path) -> None:
    code = """
    session = Session(backend=backend)
    sampler = Sampler(mode=session)
    job = sampler.run([isa], shots=200)
    counts = job.result()[0].data.meas.get_counts()
    out["counts"] = counts
    out["job_session"] = job.session_id
    out["session_id"] = session.session_id
    out["status_open"] = session.status()
    session.close()
    out["status_closed"] = session.status()
    out["state"] = session.details()["state"]
    """
    out = run_client(server, [_SETUP, code], tmp_path)
    assert sum(out["counts"].values()) == 200
    assert set(out["counts"]) <= {"00", "11"}
    assert out["job_session"] == out["session_id"] is not None
    assert out["status_open"] == "In progress, accepting new jobs"
    assert out["status_closed"] == "Closed"
    assert out["state"] == "closed"


def test_context_manager_closes_the_session(server: ServerProcess, tmp_path: Path) -> None:
    code = """
    with Session(backend=backend) as session:
        sampler = Sampler(mode=session)
        result = sampler.run([isa], shots=50).result()
        out["shots"] = result[0].data.meas.num_shots
        out["inside"] = session.details()["accepting_jobs"]
    out["after"] = session.details()["state"]
    out["accepting"] = session.details()["accepting_jobs"]
    """
    out = run_client(server, [_SETUP, code], tmp_path)
    assert out["shots"] == 50
    assert out["inside"] is True
    assert out["after"] == "closed"
    assert out["accepting"] is False


def test_max_time_closes_the_session_on_the_virtual_clock(
    server: ServerProcess, tmp_path: Path
) -> None:
    # Each job holds the QPU 1 + 0.05 + 40000 * 0.00025 = 11.05 s; the session may live 20 s
    # from its first job's start: jobs 1 and 2 run (2 is running at 20 s and finishes),
    # 3 and 4 never start and fail; the session is closed and refuses new jobs.
    code = """
    from qiskit_ibm_runtime.exceptions import RuntimeJobFailureError, IBMRuntimeError
    session = Session(backend=backend, max_time=20)
    sampler = Sampler(mode=session)
    jobs = [sampler.run([isa], shots=40000) for _ in range(4)]
    out["outcomes"] = []
    for job in jobs:
        try:
            job.result()
            out["outcomes"].append([job.status(), "done"])
        except RuntimeJobFailureError as exc:
            out["outcomes"].append([job.status(), str(exc)])
    details = session.details()
    out["state"], out["max_time"] = details["state"], details["max_time"]
    out["usage"] = details["usage_time"]
    try:
        sampler.run([isa])
    except IBMRuntimeError as exc:
        out["refused"] = str(exc)
    """
    out = run_client(server, [_SETUP, code], tmp_path)
    outcomes = out["outcomes"]
    assert [o[0] for o in outcomes] == ["DONE", "DONE", "ERROR", "ERROR"]
    assert all("maximum time of 20 s" in o[1] for o in outcomes[2:])
    assert out["state"] == "closed"
    assert out["max_time"] == 20
    assert out["usage"] == 20  # a dedicated session is charged from its start to its close
    assert "reached its maximum time (20 s)" in out["refused"]


def test_close_with_queued_jobs_runs_them_all(server: ServerProcess, tmp_path: Path) -> None:
    code = """
    from qiskit_ibm_runtime.exceptions import IBMRuntimeError
    session = Session(backend=backend)
    sampler = Sampler(mode=session)
    jobs = [sampler.run([isa], shots=100) for _ in range(3)]
    session.close()
    out["while_draining"] = session.details()["accepting_jobs"]
    out["shots"] = [job.result()[0].data.meas.num_shots for job in jobs]
    out["statuses"] = [job.status() for job in jobs]
    out["final"] = session.status()
    try:
        sampler.run([isa])
    except IBMRuntimeError as exc:
        out["refused"] = str(exc)
    """
    out = run_client(server, [_SETUP, code], tmp_path)
    assert out["while_draining"] is False
    assert out["shots"] == [100, 100, 100]
    assert out["statuses"] == ["DONE", "DONE", "DONE"]
    assert out["final"] == "Closed"
    assert out["refused"] == "'The session is closed.'"


def test_cancel_fails_the_queued_jobs(server: ServerProcess, tmp_path: Path) -> None:
    code = """
    from qiskit_ibm_runtime.exceptions import RuntimeJobFailureError
    session = Session(backend=backend)
    sampler = Sampler(mode=session)
    jobs = [sampler.run([isa], shots=100) for _ in range(3)]
    session.cancel()
    out["outcomes"] = []
    for job in jobs:
        try:
            job.result()
            out["outcomes"].append([job.status(), "done"])
        except RuntimeJobFailureError as exc:
            out["outcomes"].append([job.status(), str(exc), job.error_message()])
    out["state"] = session.details()["state"]
    """
    out = run_client(server, [_SETUP, code], tmp_path)
    outcomes = out["outcomes"]
    # The first job started when it was submitted (the QPU was free): it finishes.
    assert outcomes[0] == ["DONE", "done"]
    for status, message, reason in outcomes[1:]:
        assert status == "ERROR"
        assert "session was cancelled before the job started" in message
        assert "session_cancelled" in reason
    assert out["state"] == "closed"


def test_two_primitives_in_one_session(server: ServerProcess, tmp_path: Path) -> None:
    code = """
    with Session(backend=backend) as session:
        sampler = Sampler(mode=session)
        estimator = Estimator(mode=session)
        estimator.options.default_precision = 0.01
        sampler_job = sampler.run([isa], shots=100)
        estimator_job = estimator.run([(isa_bell, zz)])
        out["counts"] = sampler_job.result()[0].data.meas.get_counts()
        out["ev"] = float(estimator_job.result()[0].data.evs)
        out["std"] = float(estimator_job.result()[0].data.stds)
        out["programs"] = [sampler_job.primitive_id, estimator_job.primitive_id]
        out["sessions"] = {sampler_job.session_id, estimator_job.session_id} == {session.session_id}
    """
    out = run_client(server, [_SETUP, code], tmp_path)
    assert set(out["counts"]) <= {"00", "11"} and sum(out["counts"].values()) == 100
    assert abs(out["ev"] - 1.0) < 0.1  # <ZZ> = 1 on a Bell pair, with noise of precision 0.01
    assert out["std"] > 0
    assert out["programs"] == ["sampler", "estimator"]
    assert out["sessions"] is True


def test_two_vqe_threads_with_job_tags(server: ServerProcess, tmp_path: Path) -> None:
    code = """
    import threading
    import numpy as np
    from scipy.optimize import minimize
    from qiskit.circuit.library import efficient_su2

    hamiltonian = SparsePauliOp.from_list([("ZZ", 1.0), ("XI", 0.5), ("IX", 0.5)])
    ansatz = pm.run(efficient_su2(2, reps=1))
    observable = hamiltonian.apply_layout(ansatz.layout)
    energies = {}

    def vqe(tag, seed):
        estimator = Estimator(mode=session)
        estimator.options.default_precision = 0.001  # IBM's client refuses 0
        estimator.options.seed_estimator = seed
        estimator.options.environment.job_tags = [tag]

        def cost(params):
            return float(estimator.run([(ansatz, observable, params)]).result()[0].data.evs)

        x0 = np.random.default_rng(seed).uniform(-1, 1, ansatz.num_parameters)
        try:
            energies[tag] = minimize(cost, x0, method="COBYLA", options={"maxiter": 12}).fun
        except Exception as exc:  # a thread's failure fails the test
            energies[tag] = repr(exc)

    with Session(backend=backend) as session:
        runs = (("vqe-a", 1), ("vqe-b", 2))
        threads = [threading.Thread(target=vqe, args=run) for run in runs]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        for tag in ("vqe-a", "vqe-b"):
            jobs = service.jobs(job_tags=[tag], session_id=session.session_id, limit=100)
            out[tag] = [len(jobs), sorted({t for job in jobs for t in job.tags})]
    out["energies"] = energies
    """
    out = run_client(server, [_SETUP, code], tmp_path)
    assert all(isinstance(e, float) for e in out["energies"].values()), out["energies"]
    for tag in ("vqe-a", "vqe-b"):
        count, tags = out[tag]
        assert 5 <= count <= 13, count  # COBYLA evaluates at most maxiter (+1) points
        assert tags == [tag]
    # The ground energy of ZZ + 0.5 (XI + IX) is -sqrt(2) ~ -1.414; a start is above 1 - 1.
    assert all(-1.5 < e < 1.0 for e in out["energies"].values()), out["energies"]


def test_status_and_details(server: ServerProcess, tmp_path: Path) -> None:
    code = """
    session = Session(backend=backend, max_time="1h")
    out["before"] = [session.status(), session.details()]
    Sampler(mode=session).run([isa], shots=10).result()
    out["after_job"] = [session.status(), session.details()]
    session.close()
    out["closed"] = [session.status(), session.details()]
    out["usage"] = session.usage()
    """
    out = run_client(server, [_SETUP, code], tmp_path)
    status, details = out["before"]
    assert status == "Pending"
    assert set(details) == {
        "id", "backend_name", "interactive_timeout", "max_time", "active_timeout", "state",
        "accepting_jobs", "last_job_started", "last_job_completed", "started_at", "closed_at",
        "activated_at", "mode", "usage_time", "timestamps",
    }  # fmt: skip
    assert details["backend_name"] == FALCON
    assert details["max_time"] == 3600
    assert details["mode"] == "dedicated"
    assert details["state"] == "open" and details["started_at"] is None
    status, details = out["after_job"]
    assert status == "In progress, accepting new jobs"
    assert details["state"] == "active"
    assert details["started_at"] is not None and details["last_job_completed"] is not None
    assert abs(details["usage_time"] - (1 + 0.05 + 10 * 0.00025)) < 1e-6
    status, details = out["closed"]
    assert status == "Closed" and details["closed_at"] is not None
    assert [t["status"] for t in details["timestamps"]] == ["open", "active", "closed"]
    assert out["usage"] == details["usage_time"]


def test_list_the_jobs_of_a_session(server: ServerProcess, tmp_path: Path) -> None:
    code = """
    with Session(backend=backend) as session:
        sampler = Sampler(mode=session)
        ids = [sampler.run([isa], shots=10).job_id() for _ in range(3)]
    Sampler(mode=backend).run([isa], shots=10).result()  # a job outside the session
    listed = service.jobs(session_id=session.session_id, limit=10)
    out["ids"] = ids
    out["listed"] = [job.job_id() for job in listed]
    out["sessions"] = sorted({job.session_id for job in listed})
    oldest_first = service.jobs(session_id=session.session_id, descending=False)
    out["ascending"] = [job.job_id() for job in oldest_first]
    out["session_id"] = session.session_id
    """
    out = run_client(server, [_SETUP, code], tmp_path)
    assert out["listed"] == out["ids"][::-1]  # newest first
    assert out["ascending"] == out["ids"]
    assert out["sessions"] == [out["session_id"]]


def test_batch_runs_jobs_in_parallel_mode(server: ServerProcess, tmp_path: Path) -> None:
    code = """
    with Batch(backend=backend) as batch:
        sampler = Sampler(mode=batch)
        jobs = [sampler.run([isa], shots=20) for _ in range(3)]
        out["shots"] = [job.result()[0].data.meas.num_shots for job in jobs]
        details = batch.details()
        out["mode"], out["interactive"] = details["mode"], details["interactive_timeout"]
        out["in_batch"] = all(job.session_id == batch.session_id for job in jobs)
    out["state"] = batch.details()["state"]
    """
    out = run_client(server, [_SETUP, code], tmp_path)
    assert out["shots"] == [20, 20, 20]
    assert out["mode"] == "batch"
    assert out["interactive"] is None
    assert out["in_batch"] is True
    assert out["state"] == "closed"


def test_session_from_id_in_another_process(server: ServerProcess, tmp_path: Path) -> None:
    first = run_client(
        server,
        _SETUP + "session = Session(backend=backend)\nout['id'] = session.session_id\n",
        tmp_path,
    )
    code = f"""
    session = Session.from_id({first["id"]!r}, service=service)
    out["shots"] = Sampler(mode=session).run([isa], shots=30).result()[0].data.meas.num_shots
    session.close()
    out["state"] = session.details()["state"]
    """
    out = run_client(server, [_SETUP, code], tmp_path)
    assert out["shots"] == 30
    assert out["state"] == "closed"


def test_the_executor_based_sampler_in_a_session(server: ServerProcess, tmp_path: Path) -> None:
    # qiskit-ibm-runtime's client-side Sampler runs the ``executor`` program; its result
    # comes back in IBM's executor schema and the client post-processes it.
    code = """
    from qiskit_ibm_runtime.executor_sampler import Sampler as ExecutorSampler
    with Session(backend=backend) as session:
        job = ExecutorSampler(mode=session).run([isa], shots=64)
        pub = job.result()[0]
        out["program"] = job.primitive_id
        out["counts"] = pub.data.meas.get_counts()
        out["in_session"] = job.session_id == session.session_id
    """
    out = run_client(server, [_SETUP, code], tmp_path)
    assert out["program"] == "executor"
    assert sum(out["counts"].values()) == 64
    assert set(out["counts"]) <= {"00", "11"}
    assert out["in_session"] is True
