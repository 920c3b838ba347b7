"""Jobs through the unchanged qiskit-ibm-runtime client: read, list, cancel, delete, metrics,
tags, error reasons, and bad requests answered with the client's own error classes.

Every request that fails names its problem, and the session, other jobs and other users
go on: each test ends with a job that still runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..conftest import ServerProcess
from .conftest import FALCON, run_client

_SETUP = f"""
from qiskit import QuantumCircuit
from qiskit.transpiler import generate_preset_pass_manager
from qiskit_ibm_runtime import Session, SamplerV2 as Sampler, EstimatorV2 as Estimator
from qiskit_ibm_runtime import exceptions as ibm_errors
backend = service.backend({FALCON!r})
pm = generate_preset_pass_manager(backend=backend, optimization_level=1, seed_transpiler=1)
circuit = QuantumCircuit(2)
circuit.h(0)
circuit.cx(0, 1)
circuit.measure_all()
isa = pm.run(circuit)
"""


def test_read_a_job_in_every_way(server: ServerProcess, tmp_path: Path) -> None:
    code = """
    sampler = Sampler(mode=backend)
    sampler.options.environment.job_tags = ["first"]
    job = sampler.run([isa], shots=100)
    result = job.result()
    again = service.job(job.job_id())
    out["status"] = [job.status(), again.status(), job.done(), job.in_final_state()]
    counts = result[0].data.meas.get_counts()
    out["same_counts"] = again.result()[0].data.meas.get_counts() == counts
    out["backend"] = again.backend().name
    out["program"] = again.primitive_id
    out["tags"] = again.tags
    job.update_tags(["renamed", "second"])
    out["new_tags"] = service.job(job.job_id()).tags
    out["metrics"] = job.metrics()
    out["usage"] = job.usage()
    out["error"] = job.error_message()
    out["logs"] = job.logs()
    out["inputs_shots"] = again.inputs["pubs"][0][2]
    out["created"] = again.creation_date.isoformat()
    """
    out = run_client(server, [_SETUP, code], tmp_path)
    assert out["status"] == ["DONE", "DONE", True, True]
    assert out["same_counts"] is True
    assert out["backend"] == FALCON
    assert out["program"] == "sampler"
    assert out["tags"] == ["first"]
    assert sorted(out["new_tags"]) == ["renamed", "second"]
    modelled = 1 + 0.05 + 100 * 0.00025
    assert abs(out["metrics"]["usage"]["quantum_seconds"] - modelled) < 1e-6
    assert out["metrics"]["timestamps"]["finished"] is not None
    assert abs(out["usage"] - modelled) < 1e-6
    assert out["error"] is None
    assert out["logs"].splitlines()[-1].endswith(" DONE")
    assert f"queued on {FALCON}" in out["logs"]
    assert out["inputs_shots"] == 100
    assert out["created"]


def test_list_jobs_with_filters(server: ServerProcess, tmp_path: Path) -> None:
    code = """
    sampler = Sampler(mode=backend)
    sampler.options.environment.job_tags = ["listing"]
    ids = [sampler.run([isa], shots=10).job_id() for _ in range(3)]
    out["ids"] = ids
    out["tagged"] = [j.job_id() for j in service.jobs(job_tags=["listing"])]
    out["page"] = [j.job_id() for j in service.jobs(job_tags=["listing"], limit=2, skip=1)]
    out["by_backend"] = len(service.jobs(backend_name=backend.name, job_tags=["listing"]))
    out["by_program"] = len(service.jobs(program_id="estimator", job_tags=["listing"]))
    out["pending"] = len(service.jobs(pending=True, job_tags=["listing"]))
    """
    out = run_client(server, [_SETUP, code], tmp_path)
    ids = out["ids"]
    assert out["tagged"] == ids[::-1]
    assert out["page"] == ids[::-1][1:3]
    assert out["by_backend"] == 3
    assert out["by_program"] == 0


def test_cancel_a_queued_job_and_delete_it(server: ServerProcess, tmp_path: Path) -> None:
    code = """
    sampler = Sampler(mode=backend)
    long = sampler.run([isa], shots=40000)  # holds the QPU for 11 s of the clock
    queued = sampler.run([isa], shots=10)
    queued.cancel()
    out["cancelled"] = [queued.status(), queued.cancelled()]
    out["result_error"] = error_of(queued.result)
    out["cancel_again"] = error_of(queued.cancel)
    out["long"] = long.result()[0].data.meas.num_shots
    out["cancel_done"] = error_of(long.cancel)
    service.delete_job(queued.job_id())
    out["deleted"] = error_of(lambda: service.job(queued.job_id()))
    out["delete_again"] = error_of(lambda: service.delete_job(queued.job_id()))
    out["after"] = sampler.run([isa], shots=5).result()[0].data.meas.num_shots
    """
    out = run_client(server, [_SETUP, code], tmp_path)
    assert out["cancelled"] == ["CANCELLED", True]
    assert out["result_error"][0] == "RuntimeInvalidStateError"
    assert "cancelled" in out["result_error"][1].lower()
    assert out["cancel_again"][0] == "RuntimeInvalidStateError"
    assert out["long"] == 40000
    assert out["cancel_done"][0] == "RuntimeInvalidStateError"
    assert "DONE and cannot be cancelled" in out["cancel_done"][1]
    assert out["deleted"][0] == "RuntimeJobNotFound"
    assert out["delete_again"][0] == "RuntimeJobNotFound"
    assert out["after"] == 5


def test_a_job_past_its_max_execution_time(server: ServerProcess, tmp_path: Path) -> None:
    code = """
    sampler = Sampler(mode=backend)
    sampler.options.max_execution_time = 5
    job = sampler.run([isa], shots=40000)  # 11.05 s on the QPU
    out["error"] = error_of(job.result)
    out["status"] = job.status()
    out["reason"] = job.error_message()
    out["after"] = Sampler(mode=backend).run([isa], shots=5).result()[0].data.meas.num_shots
    """
    out = run_client(server, [_SETUP, code], tmp_path)
    assert out["error"][0] == "RuntimeJobMaxTimeoutError"
    assert out["status"] == "ERROR"
    assert "max_execution_time" in out["reason"] or "5" in out["reason"]
    assert out["after"] == 5


def test_unknown_ids_and_names_give_the_client_errors(
    server: ServerProcess, tmp_path: Path
) -> None:
    code = """
    out["job"] = error_of(lambda: service.job("no-such-job"))
    out["backend"] = error_of(lambda: service.backend("no_such_backend"))
    out["session"] = error_of(lambda: Session.from_id("no-such-session", service=service))
    out["after"] = Sampler(mode=backend).run([isa], shots=5).result()[0].data.meas.num_shots
    """
    out = run_client(server, [_SETUP, code], tmp_path)
    assert out["job"][0] == "RuntimeJobNotFound"
    assert "no-such-job" in out["job"][1]
    assert out["backend"][0] == "QiskitBackendNotFoundError"
    assert out["session"][0] in ("IBMRuntimeError", "RuntimeJobNotFound", "IBMInputValueError")
    assert "no-such-session" in out["session"][1]
    assert out["after"] == 5


def test_bad_tokens_and_foreign_instances(server: ServerProcess, tmp_path: Path) -> None:
    code = """
    from qiskit_ibm_runtime.accounts import InvalidAccountError
    from qiskit_ibm_runtime.exceptions import IBMInputValueError

    def service_with(token, instance):
        return QiskitRuntimeService(
            channel="ibm_quantum_platform", url=URL, token=token, instance=instance
        )

    out["bad_token"] = error_of(lambda: service_with("not-a-token", INSTANCE))
    other = INSTANCE.replace("inst-a", "inst-b")
    out["other_instance"] = error_of(lambda: service_with(TOKEN, other))
    out["not_a_crn"] = error_of(lambda: service_with(TOKEN, "crn:v1:bluemix:public:x::"))
    out["fine"] = len(service_with(TOKEN, INSTANCE).backends()) > 0
    """
    out = run_client(server, code, tmp_path)
    assert out["bad_token"][0] == "InvalidAccountError"
    assert "valid API token" in out["bad_token"][1]
    assert out["other_instance"][0] == "IBMInputValueError"
    assert "does not have access to the instance" in out["other_instance"][1]
    assert out["not_a_crn"] is not None
    assert out["fine"] is True


def test_other_users_jobs_and_sessions_are_unknown(server: ServerProcess, tmp_path: Path) -> None:
    alice = run_client(
        server,
        [
            _SETUP,
            """
            session = Session(backend=backend)
            job = Sampler(mode=session).run([isa], shots=10)
            job.result()
            out["job"], out["session"] = job.job_id(), session.session_id
            """,
        ],
        tmp_path,
    )
    code = f"""
    out["job"] = error_of(lambda: service.job({alice["job"]!r}))
    out["delete"] = error_of(lambda: service.delete_job({alice["job"]!r}))
    out["listed"] = [j.job_id() for j in service.jobs(limit=100)]
    out["from_id"] = error_of(lambda: Session.from_id({alice["session"]!r}, service=service))
    """
    out = run_client(server, [_SETUP, code], tmp_path, user="bob")
    assert out["job"][0] == "RuntimeJobNotFound"
    assert out["delete"][0] == "RuntimeJobNotFound"
    assert alice["job"] not in out["listed"]
    assert out["from_id"][0] == "IBMInputValueError"
    assert "Session not found" in out["from_id"][1]
    # alice's session is untouched
    after = run_client(
        server,
        [
            _SETUP,
            f"""
            session = Session.from_id({alice["session"]!r}, service=service)
            out["state"] = session.details()["state"]
            session.close()
            """,
        ],
        tmp_path,
    )
    assert after["state"] in ("active", "inactive")


def test_malformed_requests_name_the_problem_and_harm_nobody(
    server: ServerProcess, tmp_path: Path
) -> None:
    # Raw requests, as a broken or hostile client would send them (``requests`` is the
    # client's own HTTP library); then the client's session goes on.
    code = """
    import requests
    headers = {"Authorization": "apikey " + TOKEN, "Service-CRN": INSTANCE}
    session = Session(backend=backend)
    first = Sampler(mode=session).run([isa], shots=10)
    first.result()

    def post(body, raw=None):
        answer = requests.post(URL + "/jobs", headers=headers, json=body, data=raw, timeout=60)
        return [answer.status_code, answer.json()["error"]["message"]]

    out["not_json"] = post(None, raw=b"{not json")
    out["not_object"] = post([1, 2])
    out["program"] = post({"program_id": "nope", "backend": backend.name, "params": {}})
    out["no_backend"] = post({"program_id": "sampler", "params": {}})
    out["unknown_backend"] = post({"program_id": "sampler", "backend": "nope", "params": {}})
    out["params"] = post({"program_id": "sampler", "backend": backend.name, "params": 3})
    out["pubs"] = post(
        {"program_id": "sampler", "backend": backend.name, "params": {"pubs": "x", "version": 2}}
    )
    out["session"] = post(
        {"program_id": "sampler", "backend": backend.name, "session_id": "nope",
         "params": {"pubs": [], "version": 2}}
    )
    out["no_auth"] = requests.get(URL + "/jobs", timeout=60).status_code
    out["bad_crn"] = requests.get(
        URL + "/jobs", headers={**headers, "Service-CRN": "crn:v1:x"}, timeout=60
    ).status_code
    out["first"] = service.job(first.job_id()).result()[0].data.meas.num_shots
    out["after"] = Sampler(mode=session).run([isa], shots=7).result()[0].data.meas.num_shots
    session.close()
    """
    out = run_client(server, [_SETUP, code], tmp_path)
    assert out["not_json"][0] == 400 and "not JSON" in out["not_json"][1]
    assert out["not_object"][0] == 400 and "JSON object" in out["not_object"][1]
    assert out["program"][0] == 400 and "program_id" in out["program"][1]
    assert out["no_backend"][0] == 400 and "backend" in out["no_backend"][1]
    assert out["unknown_backend"][0] == 404 and "nope" in out["unknown_backend"][1]
    assert out["params"][0] == 400 and "params" in out["params"][1]
    assert out["pubs"][0] == 400 and "pubs" in out["pubs"][1]
    assert out["session"][0] == 404 and "no session with id 'nope'" in out["session"][1]
    assert out["no_auth"] == 401
    assert out["bad_crn"] == 400
    assert out["first"] == 10
    assert out["after"] == 7


def test_job_mode_on_a_real_clock_server(server_factory: Any, tmp_path: Path) -> None:
    # On IBM a simulator runs in job mode (the client opens no session for it); on a server
    # with a real clock the client's status polls answer at once.
    real = server_factory()
    code = """
    from qiskit import QuantumCircuit
    from qiskit_ibm_runtime import Session, SamplerV2 as Sampler
    backend = service.backend("statevector")
    circuit = QuantumCircuit(3)
    circuit.h(0)
    circuit.cx(0, 1)
    circuit.cx(1, 2)
    circuit.measure_all()
    sampler = Sampler(mode=backend)
    sampler.options.simulator.seed_simulator = 5
    job = sampler.run([circuit], shots=500)
    out["counts"] = job.result()[0].data.meas.get_counts()
    out["session"] = job.session_id
    with Session(backend=backend) as session:
        out["session_id"] = session.session_id
    """
    out = run_client(real, code, tmp_path)
    assert set(out["counts"]) == {"000", "111"}
    assert sum(out["counts"].values()) == 500
    assert out["session"] is None
    assert out["session_id"] is None  # as on IBM: no session on a simulator
