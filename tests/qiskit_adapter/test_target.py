"""The Qiskit Target built from core devices: basis, coupling, widths, durations, errors."""

from __future__ import annotations

import math
from typing import Any

import pytest

pytest.importorskip("qiskit")
pytest.importorskip("qiskit_ibm_runtime")

from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister  # noqa: E402
from qiskit.circuit.library import get_standard_gate_name_mapping  # noqa: E402
from qiskit.transpiler import generate_preset_pass_manager  # noqa: E402

from qsession_provider.core.device import Device  # noqa: E402
from qsession_provider.errors import InputError  # noqa: E402
from qsession_provider.plugins.builtin import (  # noqa: E402
    eagle_127_device,
    falcon_27_device,
    statevector_device,
)
from qsession_provider.qiskit.target import device_target, simulator_gate_names  # noqa: E402

QPU_EXTRAS = {
    "measure",
    "reset",
    "delay",
    "if_else",
    "switch_case",
    "for_loop",
    "while_loop",
    "break_loop",
    "continue_loop",
    "box",
}


def _noop(program_id: str, payload: Any) -> Any:
    return {}


@pytest.mark.parametrize(
    ("make", "two_qubit"),
    [(falcon_27_device, "ecr"), (eagle_127_device, "cz")],
    ids=["falcon-27", "eagle-127"],
)
def test_emulated_qpu_target(make: Any, two_qubit: str) -> None:
    device = make()
    target = device_target(device)
    assert target.num_qubits == device.num_qubits
    assert set(target.operation_names) == set(device.basis_gates) | QPU_EXTRAS
    # Two-qubit gates exactly on the (directed, here symmetric) coupling edges.
    assert set(target[two_qubit]) == set(device.coupling_map)
    assert sorted(target.build_coupling_map().get_edges()) == sorted(device.coupling_map)
    every_qubit = {(q,) for q in range(device.num_qubits)}
    for name in ("rz", "sx", "x", "id", "measure", "reset", "delay"):
        assert set(target[name]) == every_qubit, name
    assert target.dt == device.properties["dt"]
    # Nominal durations in whole dt, virtual rz, no invented error rates.
    assert target["rz"][(0,)].duration == 0.0
    for name, qargs in (("sx", (0,)), (two_qubit, device.coupling_map[0]), ("measure", (0,))):
        props = target[name][qargs]
        assert props.duration > 0 and props.error is None
        ticks = props.duration / target.dt
        assert math.isclose(ticks, round(ticks), rel_tol=1e-9)


def test_simulator_target_is_all_to_all_with_a_generous_gate_set() -> None:
    device = statevector_device()
    target = device_target(device)
    assert target.num_qubits == device.num_qubits
    assert target.build_coupling_map() is None
    names = set(target.operation_names)
    assert set(device.basis_gates) <= names
    assert set(simulator_gate_names()) <= names
    assert {"unitary", "measure", "reset", "delay", "if_else", "box"} <= names
    assert "global_phase" not in names
    assert target.instruction_supported("ccx", (0, 5, 2))
    assert target.instruction_supported("cx", (device.num_qubits - 1, 0))
    assert target.dt is None and target["cx"] == {None: None}


def test_every_standard_gate_except_global_phase_is_on_the_simulator() -> None:
    library = set(get_standard_gate_name_mapping()) - {"global_phase"}
    assert library <= set(device_target(statevector_device()).operation_names)


def test_one_directional_coupling_map_keeps_its_direction() -> None:
    device = Device(
        "line", 3, _noop, basis_gates=("ecr", "rz", "sx"), coupling_map=((0, 1), (2, 1))
    )
    target = device_target(device)
    assert set(target["ecr"]) == {(0, 1), (2, 1)}
    assert not target.instruction_supported("ecr", (1, 0))
    # The transpiler fixes the direction itself.
    qc = QuantumCircuit(3)
    qc.h(1)
    qc.cx(1, 0)
    out = generate_preset_pass_manager(target=target, optimization_level=1).run(qc)
    for inst in out.data:
        qargs = tuple(out.find_bit(q).index for q in inst.qubits)
        assert target.instruction_supported(inst.operation.name, qargs)


def test_device_properties_override_durations_and_add_errors() -> None:
    device = Device(
        "tuned",
        2,
        _noop,
        basis_gates=("cz", "rz", "sx", "x"),
        coupling_map=((0, 1), (1, 0)),
        properties={"gate_durations": {"cz": 1e-7}, "gate_errors": {"cz": 0.01, "sx": 2e-4}},
    )
    target = device_target(device)
    assert target.dt is None
    assert target["cz"][(0, 1)].duration == pytest.approx(1e-7)
    assert target["cz"][(0, 1)].error == pytest.approx(0.01)
    assert target["sx"][(1,)].error == pytest.approx(2e-4)
    assert target["x"][(1,)].error is None


def test_all_to_all_qpu_has_timed_single_qubit_gates_and_global_two_qubit_gates() -> None:
    device = Device("ions", 4, _noop, basis_gates=("rxx", "rz", "rx"), coupling_map=None)
    target = device_target(device)
    assert target.build_coupling_map() is None
    assert target["rx"][(3,)].duration > 0
    assert target.instruction_supported("rxx", (3, 0))
    assert "unitary" not in target.operation_names  # a QPU keeps to its basis


def test_bad_device_gates_are_named() -> None:
    with pytest.raises(InputError, match="'warp'"):
        device_target(Device("odd", 2, _noop, basis_gates=("warp", "rz"), coupling_map=((0, 1),)))
    with pytest.raises(InputError, match="'ccx' acts on 3 qubits"):
        device_target(Device("c3", 3, _noop, basis_gates=("ccx",), coupling_map=((0, 1), (1, 2))))


def test_control_flow_the_engine_runs_transpiles() -> None:
    target = device_target(falcon_27_device())
    qr, cr = QuantumRegister(2), ClassicalRegister(2)
    qc = QuantumCircuit(qr, cr)
    qc.h(0)
    qc.measure(0, 0)
    with qc.if_test((cr[0], 1)):
        qc.x(1)
    qc.measure(1, 1)
    out = generate_preset_pass_manager(target=target, optimization_level=1).run(qc)
    assert "if_else" in out.count_ops()
    loop = QuantumCircuit(1, 1)
    with loop.for_loop(range(2)):
        loop.x(0)
    loop.measure(0, 0)
    with loop.while_loop((loop.clbits[0], 1)):
        loop.h(0)
        loop.measure(0, 0)
    out = generate_preset_pass_manager(target=target, optimization_level=1).run(loop)
    assert {"for_loop", "while_loop"} <= set(out.count_ops())
