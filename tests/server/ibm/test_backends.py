"""Backends, instances and usage through the unchanged qiskit-ibm-runtime client.

The client builds its ``Target`` from our configuration and properties JSON; for an IBM
fake backend served as a device, that target must say what IBM's own fake backend says
(qubits, coupling map, gates, durations, errors, T1/T2/frequency, ``dt``).
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from qsession_provider.server.ibm.backends import gate_shape
from qsession_provider.server.ibm.identity import instance_crn

from ..conftest import ServerProcess
from .conftest import FALCON, run_client

fake_provider = pytest.importorskip("qiskit_ibm_runtime.fake_provider")


def test_a_fake_backend_target_equals_ibms(server: ServerProcess, tmp_path: Path) -> None:
    code = """
    backend = service.backend("fake_manila")
    target = backend.target
    out["num_qubits"] = backend.num_qubits
    out["edges"] = sorted(backend.coupling_map.get_edges())
    out["ops"] = sorted(target.operation_names)
    out["sx0"] = [target["sx"][(0,)].duration, target["sx"][(0,)].error]
    out["cx01"] = [target["cx"][(0, 1)].duration, target["cx"][(0, 1)].error]
    q0 = target.qubit_properties[0]
    out["q0"] = [q0.t1, q0.t2, q0.frequency]
    out["dt"] = backend.dt
    props = backend.properties()
    out["readout0"] = props.readout_error(0)
    out["t1"] = props.t1(0)
    out["simulator"] = backend.configuration().simulator
    """
    out = run_client(server, code, tmp_path)
    ibm = fake_provider.FakeManilaV2()
    target = ibm.target
    assert out["num_qubits"] == ibm.num_qubits
    assert out["edges"] == sorted(list(e) for e in ibm.coupling_map.get_edges())
    # IBM's fake backends list control flow the engine does not run (loops, switch)
    assert set(out["ops"]) == set(target.operation_names) - {"for_loop", "switch_case"}
    for got, want in ((out["sx0"], target["sx"][(0,)]), (out["cx01"], target["cx"][(0, 1)])):
        assert math.isclose(got[0], want.duration, rel_tol=1e-9)
        assert math.isclose(got[1], want.error, rel_tol=1e-12)
    q0 = target.qubit_properties[0]
    assert out["q0"] == pytest.approx([q0.t1, q0.t2, q0.frequency], rel=1e-12)
    assert out["dt"] == pytest.approx(ibm.dt, rel=1e-12)
    assert out["t1"] == pytest.approx(q0.t1, rel=1e-12)
    assert 0 < out["readout0"] < 1
    assert out["simulator"] is False


def test_list_filter_status_and_least_busy(server: ServerProcess, tmp_path: Path) -> None:
    code = f"""
    out["names"] = [b.name for b in service.backends()]
    out["simulators"] = [b.name for b in service.backends(simulator=True)]
    out["big"] = sorted(b.name for b in service.backends(min_num_qubits=127))
    status = service.backend({FALCON!r}).status()
    out["status"] = [status.operational, status.pending_jobs, status.status_msg]
    out["least_busy"] = service.least_busy(simulator=False, min_num_qubits=27).num_qubits >= 27
    out["simulator_target"] = service.backend("statevector").target.num_qubits
    """
    out = run_client(server, code, tmp_path)
    assert FALCON in out["names"] and "statevector" in out["names"]
    assert out["simulators"] == ["statevector"]
    assert "emulated_eagle_127" in out["big"] and FALCON not in out["big"]
    assert out["status"] == [True, 0, "active"]
    assert out["least_busy"] is True
    assert out["simulator_target"] > 0


def test_instances_and_usage(server: ServerProcess, tmp_path: Path) -> None:
    code = f"""
    from qiskit import QuantumCircuit
    from qiskit.transpiler import generate_preset_pass_manager
    from qiskit_ibm_runtime import SamplerV2 as Sampler
    out["instances"] = service.instances()
    out["before"] = service.usage()["usage_consumed_seconds"]
    backend = service.backend({FALCON!r})
    circuit = QuantumCircuit(1)
    circuit.x(0)
    circuit.measure_all()
    isa = generate_preset_pass_manager(backend=backend, optimization_level=1).run(circuit)
    Sampler(mode=backend).run([isa], shots=400).result()
    usage = service.usage()
    out["after"] = usage["usage_consumed_seconds"]
    out["limit_reached"] = usage["usage_limit_reached"]
    out["account_instance"] = service.active_account()["instance"]
    """
    out = run_client(server, code, tmp_path, user="bob")
    assert [i["crn"] for i in out["instances"]] == [instance_crn("inst-b")]
    assert out["instances"][0]["name"] == "inst-b"
    assert math.isclose(out["after"] - out["before"], 1 + 0.05 + 400 * 0.00025, rel_tol=1e-6)
    assert out["limit_reached"] is False
    assert out["account_instance"] == instance_crn("inst-b")


def test_gate_shapes_of_controlled_names() -> None:
    assert gate_shape("cx") == (2, 0)
    assert gate_shape("ecr") == (2, 0)
    assert gate_shape("crz") == (2, 1)
    assert gate_shape("ccx") == (3, 0)
    assert gate_shape("rz") == (1, 1)
    with pytest.raises(KeyError):
        gate_shape("cnot_of_nothing")
