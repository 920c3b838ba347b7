"""The plugin manager factory, device registration, policies, observers and tracing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from qsession_provider.client import open_runtime
from qsession_provider.core.clock import VirtualClock
from qsession_provider.core.runtime.events import EventEmitter
from qsession_provider.core.runtime.runtime import Runtime
from qsession_provider.errors import PluginError, QSessionError
from qsession_provider.plugins import (
    PluginListener,
    build_device_registry,
    get_plugin_manager,
    hookimpl,
    scheduling_policy,
)

pytestmark = pytest.mark.timeout(30)


def test_a_fresh_manager_has_the_specs_and_nothing_else(pm: Any) -> None:
    assert pm.project_name == "qsession_provider"
    assert pm.get_plugins() == set()
    assert len(build_device_registry(pm)) == 0
    assert scheduling_policy(pm, []) is None


def test_the_builtin_plugin_is_registered_under_its_name() -> None:
    pytest.importorskip("qsession_provider.sim")
    pm = get_plugin_manager(load_entry_points=False)
    assert pm.has_plugin("builtin")
    names = build_device_registry(pm).names()
    assert {"statevector", "emulated_falcon_27", "emulated_eagle_127"} <= set(names)


def test_a_third_party_plugin_registers_devices(pm: Any, load_fake_plugin: Any) -> None:
    pm.register(load_fake_plugin("extra_devices"), name="extra")
    registry = build_device_registry(pm)
    device = registry.get("fake_ion_trap")
    assert device.num_qubits == 11 and device.basis_gates == ("rxx", "rz", "ry")


def test_a_duplicate_device_name_names_the_plugin(pm: Any, load_fake_plugin: Any) -> None:
    pm.register(load_fake_plugin("extra_devices"), name="extra")
    pm.register(load_fake_plugin("duplicate_device"), name="dupe")  # called first (pluggy order)
    with pytest.raises(PluginError, match="plugin 'extra'.*'fake_ion_trap' is already registered"):
        build_device_registry(pm)


def test_a_failing_plugin_names_itself(pm: Any, load_fake_plugin: Any) -> None:
    pm.register(load_fake_plugin("broken_registration"), name="lab")
    with pytest.raises(PluginError, match="plugin 'lab' failed.*control system"):
        build_device_registry(pm)


def test_a_misspelled_hook_is_refused(pm: Any, load_fake_plugin: Any) -> None:
    import pluggy

    pm.register(load_fake_plugin("misspelled_hook"), name="typo")
    with pytest.raises(pluggy.PluginValidationError, match="qsession_regsiter_devices"):
        pm.check_pending()


def test_a_plugin_policy_replaces_fair_share(pm: Any, load_fake_plugin: Any, engine: Any) -> None:
    from qsession_provider.core.device import Device, TimingModel

    pm.register(load_fake_plugin("fifo_policy"), name="fifo")
    policy = scheduling_policy(pm, [])
    assert type(policy).__name__ == "FifoPolicy"
    clock = VirtualClock(start=0, auto_advance=False)
    qpu = Device("q", 2, engine, programs={"echo"}, timing=TimingModel(per_job=1))
    with Runtime(devices=[qpu], clock=clock, policy=policy) as rt:
        jobs = [rt.submit("echo", "q", {}, instance="a", name=f"a{i}") for i in range(3)]
        jobs.append(rt.submit("echo", "q", {}, instance="b", name="b0"))
        clock.advance(10)
        assert [j.name for j in sorted(jobs, key=lambda j: j.started_at)] == [
            "a0",
            "a1",
            "a2",
            "b0",
        ]  # FIFO, not fair share


def test_a_bad_policy_is_refused(pm: Any, load_fake_plugin: Any) -> None:
    pm.register(load_fake_plugin("bad_policy"), name="bad")
    with pytest.raises(PluginError, match="round robin"):
        scheduling_policy(pm, [])


def test_lifecycle_hooks_reach_observer_plugins(pm: Any, load_fake_plugin: Any) -> None:
    recorder = load_fake_plugin("recorder").Recorder()
    pm.register(load_fake_plugin("extra_devices"), name="extra")
    pm.register(recorder, name="recorder")
    clock = VirtualClock(start=0)
    with Runtime(
        devices=build_device_registry(pm), clock=clock, listeners=[PluginListener(pm)]
    ) as rt:
        session = rt.open_session("fake_ion_trap", interactive_ttl=10)
        rt.submit("echo", "fake_ion_trap", {}, name="j1", session_id=session.id).result()
        clock.advance(20)
        rt.close_session(session.id)
    assert recorder.events == [
        ("session", "-->open"),
        ("submitted", "j1"),
        ("started", "j1"),
        ("session", "open->active"),
        ("finished", "j1:DONE"),
        ("session", "active->inactive"),
        ("session", "inactive->closed"),
    ]


def test_hook_tracing_writes_to_stderr(
    monkeypatch: Any, capsys: Any, load_fake_plugin: Any
) -> None:
    monkeypatch.setenv("QSESSION_TRACE_HOOKS", "1")
    pm = get_plugin_manager(load_entry_points=False, include_builtin=False)
    pm.register(load_fake_plugin("extra_devices"), name="extra")
    build_device_registry(pm)
    pm.hook.qsession_job_submitted(job=None)
    err = capsys.readouterr().err
    assert "qsession_register_devices [extra]" in err
    assert "qsession_job_submitted" in err


def test_no_tracing_by_default(monkeypatch: Any, capsys: Any) -> None:
    monkeypatch.delenv("QSESSION_TRACE_HOOKS", raising=False)
    pm = get_plugin_manager(load_entry_points=False, include_builtin=False)
    pm.hook.qsession_job_submitted(job=None)
    assert capsys.readouterr().err == ""


def _fake_distribution(root: Path, module: str, source: str) -> None:
    """A minimal installed distribution with one ``qsession_provider`` entry point."""
    dist = root / f"{module}-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module}\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(f"[qsession_provider]\n{module} = {module}\n")
    (root / f"{module}.py").write_text(source)


def test_entry_point_plugins_are_loaded(tmp_path: Any, monkeypatch: Any) -> None:
    source = (Path(__file__).parent / "fake_plugins" / "extra_devices.py").read_text()
    _fake_distribution(tmp_path, "qsession_fake_ep_ok", source)
    monkeypatch.syspath_prepend(str(tmp_path))
    pm = get_plugin_manager(include_builtin=False)
    assert pm.has_plugin("qsession_fake_ep_ok")
    names = build_device_registry(pm).names()  # with this package's own plugin's devices
    assert "fake_ion_trap" in names


def test_a_broken_entry_point_raises_a_plugin_error(tmp_path: Any, monkeypatch: Any) -> None:
    _fake_distribution(tmp_path, "qsession_fake_ep_broken", "raise ImportError('no numpy 3')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(PluginError, match="failed to load: ImportError: no numpy 3"):
        get_plugin_manager(include_builtin=False)


def test_open_runtime_builds_from_plugins_once_per_store(
    tmp_path: Any, pm: Any, load_fake_plugin: Any
) -> None:
    pm.register(load_fake_plugin("extra_devices"), name="extra")
    path = str(tmp_path / "store.sqlite3")
    clock = VirtualClock(start=0)
    rt = open_runtime(path, clock=clock, plugin_manager=pm)
    try:
        assert [d.name for d in rt.devices()] == ["fake_ion_trap"]
        assert open_runtime(path) is rt
        assert open_runtime(path, work_conserving=False) is rt
        with pytest.raises(QSessionError, match="work_conserving=True"):
            open_runtime(path, work_conserving=True)
        with pytest.raises(QSessionError, match="already runs on"):
            open_runtime(path, clock=VirtualClock(start=0))
        job = rt.submit("echo", "fake_ion_trap", {})
        assert job.result() == {"program": "echo", "device": "fake_ion_trap"}
        assert clock.now() == 5.0
    finally:
        rt.shutdown()


def test_open_runtime_refuses_policy_and_work_conserving_together() -> None:
    from qsession_provider.core.runtime.policies import FairSharePolicy
    from qsession_provider.errors import InputError

    with pytest.raises(InputError, match="not both"):
        open_runtime(":memory:", policy=FairSharePolicy(), work_conserving=True)


def test_the_plugin_listener_wants_only_implemented_hooks(pm: Any) -> None:
    seen: list[str] = []

    class Plugin:
        @hookimpl
        def qsession_job_finished(self, job: Any) -> None:
            seen.append(f"finished {job}")

    listener = PluginListener(pm)
    assert not listener.wants("job_finished") and not listener.wants("job_started")
    pm.register(Plugin())
    assert listener.wants("job_finished") and not listener.wants("job_started")
    emitter = EventEmitter([listener])
    emitter.post("job_started", "j")
    emitter.post("job_finished", "j")
    emitter.drain()
    assert seen == ["finished j"]
    listener.job_started("j")  # still callable directly
