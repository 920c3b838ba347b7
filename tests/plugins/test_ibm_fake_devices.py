"""IBM's fake backends as lazy devices, read from qiskit-ibm-runtime's files, never imported."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from qsession_provider.core.device import DeviceRegistry
from qsession_provider.core.lazy_device import LazyDevice
from qsession_provider.errors import PluginError
from qsession_provider.plugins import get_plugin_manager, ibm_fake_devices
from qsession_provider.plugins.ibm_fake_devices import (
    fake_backend_files,
    fake_backend_names,
    fake_device,
    fake_name,
    qsession_register_devices,
    real_name,
)

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("qiskit_ibm_runtime") is None,
    reason="qiskit-ibm-runtime (whose data files the plugin reads) is not installed",
)

FRAMEWORKS = ("qiskit", "qiskit_ibm_runtime", "qiskit_aer", "cirq")


def _fresh(code: str) -> dict[str, Any]:
    """Run ``code`` in a new interpreter; it sets ``out`` (a dict), which comes back with the
    frameworks the run imported."""
    script = (
        "import json, sys\n"
        f"{code}\n"
        f"out['imported'] = sorted(m for m in {FRAMEWORKS!r} if m in sys.modules)\n"
        "print(json.dumps(out))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_opening_a_runtime_and_listing_devices_imports_no_framework() -> None:
    out = _fresh(
        "from qsession_provider.client import open_runtime\n"
        "runtime = open_runtime(':memory:')\n"
        "devices = {d.name: d for d in runtime.devices()}\n"
        "out = {'qubits': {n: d.num_qubits for n, d in devices.items()},\n"
        "       'described': all(d.description for d in devices.values()),\n"
        "       'built': sorted(n for n, d in devices.items() if getattr(d, 'built', False))}\n"
        "out['edges'] = len(runtime.device('fake_sherbrooke').coupling_map)\n"
        "runtime.shutdown()"
    )
    assert out["imported"] == []
    assert set(fake_backend_names()) <= set(out["qubits"])
    assert out["qubits"]["fake_sherbrooke"] == 127 and out["qubits"]["fake_armonk"] == 1
    assert out["described"] and out["built"] == []
    assert out["edges"] == 144  # built on first use, still without qiskit


def test_the_devices_command_lists_them_without_a_framework(tmp_path: Path) -> None:
    store = tmp_path / "new.sqlite3"
    out = _fresh(
        "import contextlib, io\n"
        "from qsession_provider.cli import main\n"
        "text = io.StringIO()\n"
        "with contextlib.redirect_stdout(text):\n"
        f"    status = main(['devices', '--store', {str(store)!r}])\n"
        "out = {'status': status, 'text': text.getvalue()}"
    )
    assert out["status"] == 0 and out["imported"] == []
    assert "fake_sherbrooke" in out["text"] and "ibm_sherbrooke" in out["text"]


def test_the_entry_point_is_this_framework_free_module() -> None:
    assert get_plugin_manager().get_plugin("qiskit_fake_backends") is ibm_fake_devices


def test_registration_is_lazy_and_skips_taken_names() -> None:
    registry = DeviceRegistry()
    qsession_register_devices(registry)
    qsession_register_devices(registry)  # a second plugin run leaves the first devices
    assert registry.names() == list(fake_backend_names())
    assert all(isinstance(d, LazyDevice) and not d.built for d in registry)
    assert registry.get("fake_torino").num_qubits == 133


def test_fake_and_real_names() -> None:
    assert real_name("fake_sherbrooke") == "ibm_sherbrooke"
    assert fake_name("ibm_sherbrooke") == fake_name("fake_sherbrooke") == "fake_sherbrooke"
    assert fake_name("ibmq_athens") == "fake_athens"
    assert fake_name("ibm_nowhere") is None and fake_name("statevector") is None


def test_a_device_from_the_backend_data_in_si_units() -> None:
    device = fake_device("fake_sherbrooke")
    assert device.name == "fake_sherbrooke" and device.num_qubits == 127 and not device.simulator
    assert device.basis_gates == ("ecr", "id", "rz", "sx", "x") and device.slots == 1
    assert len(device.coupling_map) == 144 and (1, 0) in device.coupling_map
    props = device.properties
    assert props["real_name"] == "ibm_sherbrooke" and props["processor_family"] == "Eagle"
    assert props["dt"] == pytest.approx(2.2222e-10, rel=1e-4)
    qubit = props["calibration"]["qubits"][0]
    assert 1e-6 < qubit["T1"] < 1e-2 and 1e-6 < qubit["T2"] < 1e-2
    assert 4e9 < qubit["frequency"] < 6e9 and 0 <= qubit["readout_error"] < 0.5
    assert 1e-8 < props["gate_durations"]["sx"] < 1e-7
    assert 1e-7 < props["gate_durations"]["ecr"] < 1e-6
    assert device.timing.per_shot == pytest.approx(250e-6)  # + each circuit's duration
    ecr = next(g for g in props["calibration"]["gates"] if g["gate"] == "ecr")
    assert device.timing.durations[("ecr", tuple(ecr["qubits"]))] == ecr["duration"]
    assert (
        device.timing.durations[("measure", (3,))]
        == props["calibration"]["qubits"][3]["readout_length"]
    )
    assert fake_device("fake_fractional").properties["fractional_gates"] == ["rx", "rzz"]
    assert {"rx", "rzz"} <= set(fake_device("fake_fractional").basis_gates)


def test_without_qiskit_ibm_runtime_there_are_no_fake_devices(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(ibm_fake_devices.importlib.util, "find_spec", lambda name: None)
    assert fake_backend_files.__wrapped__() == {}


def test_unreadable_backend_data_fails_that_device_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "broken"
    folder.mkdir()
    (folder / "conf_broken.json").write_text('{"n_qubits": 3, "coupling_map": [[0, 1]', "utf-8")
    files = {**fake_backend_files(), "fake_broken": folder / "conf_broken.json"}
    monkeypatch.setattr(ibm_fake_devices, "fake_backend_files", lambda: files)
    registry = DeviceRegistry()
    qsession_register_devices(registry)
    broken = registry.get("fake_broken")
    assert broken.num_qubits == 3  # the summary reads the qubit count only
    with pytest.raises(PluginError, match="device 'fake_broken' could not be built: JSONDecode"):
        _ = broken.basis_gates
    assert registry.get("fake_lima").basis_gates  # the others build
    with pytest.raises(LookupError, match="no fake backend named 'fake_nowhere'"):
        fake_device("fake_nowhere")
