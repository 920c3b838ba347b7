"""The Cirq Service, Target and Job: Azure/IonQ-shaped access to the runtime."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

cirq = pytest.importorskip("cirq")
sympy = pytest.importorskip("sympy")

from qsession_provider.cirq import (  # noqa: E402
    Job,
    JobResult,
    Sampler,
    Service,
    Target,
    UnsuccessfulJobError,
    VirtualClock,
)
from qsession_provider.client import open_runtime  # noqa: E402
from qsession_provider.core import Device, DeviceRegistry, MemoryStore, Runtime  # noqa: E402
from qsession_provider.core.ir.circuit import Circuit, Gate, Measure  # noqa: E402
from qsession_provider.core.ir.payload import SamplerPayload, SamplerPub  # noqa: E402
from qsession_provider.errors import (  # noqa: E402
    DeviceNotFoundError,
    InputError,
    JobNotFoundError,
)
from qsession_provider.plugins import (  # noqa: E402
    build_device_registry,
    get_plugin_manager,
)

pytestmark = pytest.mark.timeout(60)

Q = cirq.LineQubit.range(3)
T = sympy.Symbol("t")
BELL = cirq.Circuit(
    cirq.H(Q[0]),
    cirq.CNOT(Q[0], Q[1]),
    cirq.measure(Q[0], Q[1], key="bell"),
    cirq.X(Q[2]) ** T,
    cirq.measure(Q[2], key="flag"),
)


@pytest.fixture(scope="module")
def builtin_devices() -> list[Device]:
    return list(build_device_registry(get_plugin_manager(load_entry_points=False)))


def _boom(program_id: str, payload: Any) -> Any:
    raise RuntimeError("boom: cryostat warm")


@pytest.fixture
def rt(builtin_devices: list[Device]) -> Iterator[Runtime]:
    registry = DeviceRegistry()
    for device in builtin_devices:
        registry.register(device)
    registry.register(Device("broken", 4, _boom, simulator=True))
    runtime = Runtime(store=MemoryStore(), clock=VirtualClock(start=0), devices=registry)
    yield runtime
    runtime.shutdown(wait=False, cancel_pending=True)


@pytest.fixture
def service(rt: Runtime) -> Service:
    return Service(runtime=rt, default_target="statevector")


def test_targets_are_the_runtime_devices_and_cached(service: Service) -> None:
    names = [t.name for t in service.targets()]
    assert {"statevector", "emulated_falcon_27", "emulated_eagle_127"} <= set(names)
    assert names == sorted(names)
    falcon = service.get_target("emulated_falcon_27")
    assert isinstance(falcon, Target) and falcon.num_qubits == 27 and not falcon.simulator
    assert service.get_target("emulated_falcon_27") is falcon  # one object per name
    assert service.targets("emulated_falcon_27") == [falcon]
    assert service.get_target() is service.get_target("statevector")
    assert Sampler(service).device == "statevector"
    assert Sampler(falcon).device == service.sampler("emulated_falcon_27").device == falcon.name


class _Directory:
    """Not a service: its ``get_target`` gives something that is not a target."""

    def get_target(self, name: str | None = None) -> str:
        return "statevector"


def test_sampler_device_must_be_a_name_target_or_service(rt: Runtime) -> None:
    with pytest.raises(InputError, match="name, Target or Service"):
        Sampler(_Directory(), runtime=rt)  # type: ignore[arg-type]


def test_target_errors(rt: Runtime) -> None:
    with pytest.raises(ValueError, match="No default target specified for job."):
        Service(runtime=rt).get_target()
    with pytest.raises(ValueError, match="No default target"):
        Service(runtime=rt).run(BELL, 10)
    with pytest.raises(DeviceNotFoundError, match="available devices"):
        Service(runtime=rt).get_target("ionq.qpu")
    with pytest.raises(ValueError):
        Service(runtime=rt, default_target="ionq.qpu")
    with pytest.raises(InputError, match="either"):
        Service(runtime=rt, clock=VirtualClock())


def test_run_returns_a_job_result_like_cirq_simulator(service: Service) -> None:
    result = service.run(BELL, 3000, param_resolver={"t": 0.5}, seed=4)
    assert isinstance(result, JobResult) and isinstance(result, cirq.Result)
    assert result.params == cirq.ParamResolver({"t": 0.5})
    ref = cirq.Simulator(seed=4).run(BELL, {"t": 0.5}, repetitions=3000)
    assert set(result.measurements) == set(ref.measurements)
    assert set(result.histogram(key="bell")) == {0, 3}
    assert abs(result.histogram(key="flag")[1] / 3000 - 0.5) < 0.05
    again = service.run(BELL, 3000, param_resolver={"t": 0.5}, seed=4)
    np.testing.assert_array_equal(again.measurements["bell"], result.measurements["bell"])


def test_job_surface(service: Service) -> None:
    job = service.create_job(BELL, 20, name="bell-1", param_resolver={"t": 1})
    assert isinstance(job, Job)
    result = job.results(timeout_seconds=30)
    assert isinstance(result, JobResult) and result.job_id == job.job_id()
    assert result.histogram(key="flag")[1] == 20
    assert job.status() == "completed"
    assert (job.target(), job.name(), job.num_qubits(), job.repetitions()) == (
        "statevector",
        "bell-1",
        3,
        20,
    )
    assert job.measurement_dict() == {"bell": [0, 1], "flag": [2]}
    found = service.get_job(job.job_id())
    assert found.status() == "completed" and found.results().params == result.params
    np.testing.assert_array_equal(found.results().measurements["bell"], result.measurements["bell"])


def test_a_sweep_job_gives_a_list_of_results(service: Service) -> None:
    sampler = service.sampler(seed=3)
    sampler.run_sweep(BELL, cirq.Points("t", [0, 1]), repetitions=5)
    (job,) = sampler.last_jobs
    results = service.get_job(job.job_id()).results()
    assert isinstance(results, list) and [r.params["t"] for r in results] == [0, 1]
    assert [r.histogram(key="flag")[1] for r in results] == [0, 5]


def test_list_jobs_filters(service: Service) -> None:
    for i in range(3):
        service.run(BELL, 5, name=f"job-{i}", param_resolver={"t": 0})
    falcon = service.create_job(BELL, 5, target="emulated_falcon_27", param_resolver={"t": 0})
    falcon.results()
    assert len(service.list_jobs()) == 4
    assert [j.name() for j in service.list_jobs(limit=2)] == ["cirq-job", "job-2"]
    assert [j.job_id() for j in service.list_jobs(target="emulated_falcon_27")] == [falcon.job_id()]
    assert len(service.list_jobs(status="completed", name_prefix="job-")) == 3
    assert service.list_jobs(status=["ready", "running"]) == []
    with pytest.raises(ValueError, match="unknown job status"):
        service.list_jobs(status="succeeded")


def test_failed_cancelled_and_deleted_jobs(service: Service) -> None:
    failed = service.create_job(BELL, 5, target="broken", param_resolver={"t": 0})
    with pytest.raises(UnsuccessfulJobError, match="cryostat warm") as info:
        failed.results()
    assert isinstance(info.value, RuntimeError) and failed.status() == "failed"
    assert failed.error_message() is not None and "cryostat" in failed.error_message()
    falcon = service.get_target("emulated_falcon_27")
    first = falcon.submit(BELL, param_resolver={"t": 0})
    queued = falcon.submit(BELL, param_resolver={"t": 0})
    assert queued.status() == "ready"
    assert queued.cancel() and queued.status() == "canceled"
    with pytest.raises(UnsuccessfulJobError, match="canceled"):
        queued.results()
    first.results()
    first.delete()
    assert first.status() == "deleted"
    with pytest.raises(JobNotFoundError):
        service.get_job(first.job_id())
    with pytest.raises(LookupError):
        service.get_job("no-such-job")


def test_results_timeout(service: Service) -> None:
    job = service.create_job(BELL, 100, target="emulated_eagle_127", param_resolver={"t": 0})
    with pytest.raises(TimeoutError):
        job.results(timeout_seconds=0.5)
    assert job.results(timeout_seconds=None).repetitions == 100
    with pytest.raises(TimeoutError):
        service.run(
            BELL, 10, target="emulated_eagle_127", param_resolver={"t": 0}, timeout_seconds=1
        )


def test_bad_input_queues_nothing(service: Service, rt: Runtime) -> None:
    with pytest.raises(ValueError, match="no measurements"):
        service.run(cirq.Circuit(cirq.H(Q[0])), 10)
    with pytest.raises(ValueError, match="t"):
        service.create_job(BELL, 10)
    with pytest.raises(ValueError, match="repetitions"):
        service.get_target().submit(BELL, repetitions=-3, param_resolver={"t": 0})
    assert rt.jobs() == []
    assert service.run(BELL, 2, param_resolver={"t": 0}).repetitions == 2


def test_a_job_of_another_face_has_no_cirq_results(service: Service, rt: Runtime) -> None:
    program = Circuit(1, [Gate("x", (0,)), Measure(0, "c", 0)], {"c": 1})
    core = rt.submit("sampler", "statevector", SamplerPayload((SamplerPub(program, None, 4),)))
    job = service.get_job(core.id)
    assert job.status() in ("ready", "running", "completed")
    with pytest.raises(InputError, match="not submitted through the Cirq face"):
        job.results()
    assert job.repetitions() == 4 and job.num_qubits() == 1


def test_service_on_a_store_shares_the_runtime(tmp_path: Path) -> None:
    path = str(tmp_path / "s.sqlite3")
    clock = VirtualClock()
    runtime = open_runtime(path, clock=clock)
    try:
        service = Service(store=path, clock=clock, default_target="emulated_falcon_27")
        assert service.runtime is runtime and Service(store=path).runtime is runtime
        target = service.get_target()
        with target.open_session(name="shared") as session:
            result = service.run(BELL, 10, param_resolver={"t": 1})
        other = Service(store=path)
        assert other.get_job(result.job_id).session_id == session.id
        assert other.get_session(session.id).name == "shared"
        assert Sampler(runtime=runtime).runtime is runtime
        assert Sampler(store=path).runtime is runtime
    finally:
        runtime.shutdown()
