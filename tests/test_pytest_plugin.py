"""The pytest plugin, run through ``pytester``: fixtures, the marker, faults, reports."""

from __future__ import annotations

import importlib
import importlib.metadata
import json
import subprocess
import sys
from pathlib import Path

import pytest

import qsession_provider.client
import qsession_provider.faults
import qsession_provider.sim  # noqa: F401

# What the inner runs import is loaded here, at collection, before any ``pytester`` fixture:
# pytester unloads the modules a test imported when it ends, and compiled modules (Qiskit's
# Rust ones) cannot be loaded a second time in a process.
for _name in ("qiskit_ibm_runtime", "qsession_provider.qiskit", "cirq", "qsession_provider.cirq"):
    try:
        importlib.import_module(_name)
    except ImportError:
        pass

ROOT = Path(__file__).resolve().parent.parent
PLUGIN = "qsession_provider.pytest_plugin"


def _installed() -> bool:
    """True if the installed distribution declares the plugin (then pytest loads it)."""
    return any(e.value == PLUGIN for e in importlib.metadata.entry_points(group="pytest11"))


def run(pytester: pytest.Pytester, *args: str, subprocess: bool = False) -> pytest.RunResult:
    """Run pytest on the test files made, with the plugin; in a ``subprocess`` for the faces
    (their frameworks' compiled modules cannot be imported again after pytester's run
    unloads them) and for tests that change ``sys.modules``."""
    load = () if _installed() else ("-p", PLUGIN)
    runner = pytester.runpytest_subprocess if subprocess else pytester.runpytest
    return runner(*load, "-p", "no:cacheprovider", "-rs", *args)


def test_the_entry_point_is_declared() -> None:
    from qsession_provider.faults.scenario import parse_toml

    data = parse_toml((ROOT / "pyproject.toml").read_text(), "pyproject.toml")
    assert data["project"]["entry-points"]["pytest11"] == {"qsession": PLUGIN}


def test_importing_the_plugin_loads_no_framework_and_no_runtime() -> None:
    code = (
        f"import json, sys, {PLUGIN}\n"
        "print(json.dumps(sorted(m.split('.')[0] if not m.startswith('qsession') else m "
        "for m in sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    loaded = set(json.loads(out.stdout))
    assert not loaded & {"qiskit", "qiskit_ibm_runtime", "cirq", "numpy", "starlette"}
    assert not {m for m in loaded if m.startswith("qsession_provider.core")}


def test_fixtures_give_a_private_runtime_on_a_virtual_clock(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        from qsession_provider.core.clock import VirtualClock

        seen = []

        def test_one(qsession_clock, qsession_runtime, qsession_faults):
            assert isinstance(qsession_clock, VirtualClock)
            assert qsession_runtime.clock is qsession_clock
            assert qsession_runtime.location.startswith(":memory:")
            assert "emulated_falcon_27" in {d.name for d in qsession_runtime.devices()}
            assert qsession_faults is None
            seen.append(qsession_runtime)

        def test_two(qsession_runtime):
            assert qsession_runtime is not seen[0] and seen[0].closed
        """
    )
    run(pytester).assert_outcomes(passed=2)


def test_the_marker_adds_devices_and_injects_faults(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import numpy as np
        import pytest
        from qsession_provider.core.device import Device, TimingModel
        from qsession_provider.core.ir.circuit import Circuit, Gate, Measure
        from qsession_provider.core.ir.payload import SamplerPayload, SamplerPub
        from qsession_provider.faults import FailJob, JobMatch

        QPU = Device("tiny_qpu", 1, lambda program, payload: {"ok": True},
                     programs={"sampler"}, timing=TimingModel(per_job=5.0))
        PAYLOAD = SamplerPayload(
            (SamplerPub(Circuit(1, [Gate("x", (0,)), Measure(0, "c", 0)], {"c": 1}),
                        np.zeros((0,)), 10),))

        @pytest.mark.qsession(devices=[QPU], faults=[FailJob(JobMatch(nth=2), ibm_code=1010)])
        def test_second_job_fails(qsession_runtime, qsession_faults):
            session = qsession_runtime.open_session("tiny_qpu", failure_policy="abort")
            jobs = [qsession_runtime.submit("sampler", "tiny_qpu", PAYLOAD,
                                            session_id=session.id) for _ in range(3)]
            for job in jobs:
                job.wait()
            assert [j.status.value for j in jobs] == ["DONE", "ERROR", "CANCELLED"]
            assert jobs[1].record.error_message.startswith("Error code 1010")
            assert jobs[1].record.metadata["faults"][0]["fault"] == "fail"
            assert qsession_runtime.clock.now() - session.created_at == 10.0
            assert "fails at its end" in qsession_faults.describe()
        """
    )
    run(pytester).assert_outcomes(passed=1)


def test_faults_from_a_scenario_file_and_a_report_of_what_was_injected(
    pytester: pytest.Pytester,
) -> None:
    pytester.makefile(
        ".toml",
        scenario="""
        [[offline]]
        device = "emulated_falcon_27"
        at = "1m"
        duration = "5m"
        refuse = true
        """,
    )
    pytester.makepyfile(
        """
        import pytest
        from qsession_provider.faults import DeviceUnavailableError

        @pytest.mark.qsession(faults="scenario.toml")
        def test_outage(qsession_runtime, qsession_faults):
            qsession_runtime.clock.advance("2m")
            assert qsession_faults.log[0].fault == "offline"
            assert False, "fails on purpose"
        """
    )
    result = run(pytester)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*qsession faults*", "t=*offline*device emulated_falcon_27 offline until t=*"]
    )


def test_bad_marker_arguments_are_named(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.qsession(plan="gold")
        def test_plan(qsession_runtime):
            pass

        @pytest.mark.qsession(device=[])
        def test_typo(qsession_runtime):
            pass

        @pytest.mark.qsession(faults={"explode": [{}]})
        def test_bad_kind(qsession_runtime):
            pass

        @pytest.mark.qsession()
        def test_unaffected(qsession_runtime):
            pass
        """
    )
    result = run(pytester)
    result.assert_outcomes(passed=1, errors=3)
    result.stdout.fnmatch_lines_random(
        [
            "*plan must be one of open, pay-as-you-go, flex, premium, dedicated*",
            "*unknown argument(s) ?'device'?; known*",
            "*unknown fault kind 'explode'*",
        ]
    )


def test_the_marker_sets_instance_plans(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest
        from qsession_provider.core.plans import InstancePlan

        @pytest.mark.qsession(plan="open")
        def test_named(qsession_runtime):
            assert qsession_runtime.plan("default").plan == "open"

        @pytest.mark.qsession(plan={"lab": InstancePlan("flex", usage_limit="10m"), "b": "open"})
        def test_mapping(qsession_runtime):
            assert qsession_runtime.plan("lab").usage_limit == 600
            assert qsession_runtime.plan("b").plan == "open"
            assert qsession_runtime.plan("default").plan == "premium"

        @pytest.mark.qsession(plan=42)
        def test_bad(qsession_runtime):
            pass
        """
    )
    result = run(pytester)
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(["*takes an InstancePlan, a plan name or a mapping*"])


def test_a_store_refusal_needs_and_gets_a_store_file(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest
        from qsession_provider.faults import StoreRefusal

        @pytest.mark.qsession(store="file", faults=[StoreRefusal(at=10, duration=5)])
        def test_file(qsession_runtime, qsession_faults):
            assert qsession_runtime.location.endswith("store.sqlite3")
            qsession_runtime.clock.advance(20)
            assert [e.fault for e in qsession_faults.log] == ["store", "store"]

        @pytest.mark.qsession(faults=[StoreRefusal()])
        def test_memory(qsession_runtime):
            pass
        """
    )
    result = run(pytester)
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*a store refusal needs a store file*"])


def test_the_faces_share_the_runtime_and_meet_the_faults(pytester: pytest.Pytester) -> None:
    pytest.importorskip("qiskit_ibm_runtime")
    pytest.importorskip("cirq")
    pytester.makepyfile(
        """
        import pytest
        from qiskit import QuantumCircuit
        from qiskit_ibm_runtime.exceptions import RuntimeJobFailureError
        from qsession_provider.faults import FailJob, JobMatch
        from qsession_provider.qiskit import SamplerV2, Session

        def test_faces(qsession_runtime, qiskit_service, azure_workspace, cirq_service):
            assert qiskit_service.runtime is qsession_runtime
            assert azure_workspace.runtime is qsession_runtime
            assert cirq_service.runtime is qsession_runtime

        @pytest.mark.qsession(faults=[FailJob(JobMatch(nth=2), ibm_code=1010)])
        def test_retry(qiskit_service):
            backend = qiskit_service.backend("emulated_falcon_27")
            qc = QuantumCircuit(1)
            qc.x(0)
            qc.measure_all()
            with Session(backend=backend) as session:
                sampler = SamplerV2(mode=session)
                assert sampler.run([qc], shots=10).result()[0].data.meas.get_counts() == {"1": 10}
                with pytest.raises(RuntimeJobFailureError, match="Error code 1010"):
                    sampler.run([qc], shots=10).result()
                retried = sampler.run([qc], shots=10).result()  # continue: the retry runs
            assert retried[0].data.meas.get_counts() == {"1": 10}

        BELL = 'OPENQASM 2.0; include "qelib1.inc"; qreg q[2]; creg c[2]; h q[0]; ' \\
               'cx q[0], q[1]; measure q -> c;'

        @pytest.mark.qsession(
            faults={"fail": [{"name": "Job 2", "azure_code": "QPUError", "message": "boom"}]}
        )
        def test_azure_error_data(azure_workspace):
            target = azure_workspace.get_targets("emulated_falcon_27")
            ok = target.submit(input_data=BELL, name="Job 1", shots=10)
            bad = target.submit(input_data=BELL, name="Job 2", shots=10)
            bad.wait_until_completed(print_progress=False)
            ok.refresh()
            assert ok.details.status.value == "Succeeded"
            assert bad.details.status.value == "Failed"
            assert (bad.details.error_data.code, bad.details.error_data.message) == (
                "QPUError", "boom")
        """
    )
    run(pytester, subprocess=True).assert_outcomes(passed=3)


def test_a_missing_framework_skips_its_fixture_with_a_reason(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        """
        import sys
        sys.modules["cirq"] = None  # as if cirq-core were not installed
        sys.modules["qiskit_ibm_runtime"] = None
        """
    )
    pytester.makepyfile(
        """
        def test_cirq(cirq_service):
            pass

        def test_qiskit(qiskit_service):
            pass

        def test_azure(azure_workspace):
            pass
        """
    )
    result = run(pytester, subprocess=True)
    result.assert_outcomes(passed=1, skipped=2)
    result.stdout.fnmatch_lines_random(
        ["*cirq_service needs cirq-core*", "*qiskit_service needs qiskit-ibm-runtime*"]
    )
