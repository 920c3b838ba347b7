"""A third-party device plugin, loaded the way an installed one is, running a job.

Installed with ``pip install ./examples/plugin_device``, the plugin's entry point makes
``noisy_readout_5`` appear in every runtime. Here the same module is registered on a
plugin manager by hand, so the example runs without installing anything.
"""

from __future__ import annotations

import sys
from pathlib import Path

from qsession_provider.client import open_runtime
from qsession_provider.core import Circuit, Gate, Measure, VirtualClock
from qsession_provider.core.ir.payload import SamplerPayload, SamplerPub
from qsession_provider.plugins import get_plugin_manager

sys.path.insert(0, str(Path(__file__).parent / "plugin_device"))
import qsession_noisy_readout  # noqa: E402 - the plugin module of the example distribution


def main() -> None:
    pm = get_plugin_manager()
    if not pm.is_registered(qsession_noisy_readout):
        pm.register(qsession_noisy_readout, name="noisy_readout")
    clock = VirtualClock()
    runtime = open_runtime(":memory:", clock=clock, plugin_manager=pm)
    print("devices:", ", ".join(d.name for d in runtime.devices()))

    bell = Circuit(
        2,
        [Gate("h", (0,)), Gate("x", (1,), controls=(0,)), Measure(0, "c", 0), Measure(1, "c", 1)],
        {"c": 2},
    )
    payload = SamplerPayload((SamplerPub(bell, None, 2000),), seed=11)
    job = runtime.submit("sampler", "noisy_readout_5", payload, name="bell")
    bits = job.result()["pubs"][0]["registers"]["c"].unpack()  # packed bits -> (shots, 2) 0/1
    values, counts = (bits[:, 0] + 2 * bits[:, 1]), {}
    for v in values.tolist():
        key = format(v, "02b")
        counts[key] = counts.get(key, 0) + 1
    print("counts with 2% readout flips:", dict(sorted(counts.items())))
    print(f"modelled device time: {job.finished_at - job.started_at:.2f} s (virtual clock)")


if __name__ == "__main__":
    main()
