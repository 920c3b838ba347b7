"""``Target``: fields, queue estimate, submit options."""

from __future__ import annotations

from typing import Any

import pytest

from qsession_provider.azure import Target, Workspace
from qsession_provider.errors import DeviceNotFoundError

pytestmark = pytest.mark.timeout(60)


def test_unknown_submit_option_and_unknown_target(workspace: Workspace, sv: Any) -> None:
    with pytest.raises(TypeError, match="'colour'"):
        sv.submit("x", colour="red")
    with pytest.raises(DeviceNotFoundError):
        Target(workspace, "ionq.simulator")


def test_target_fields(slow: Any, bell: str) -> None:
    assert slow.current_availability == "Available" and slow.average_queue_time == 0
    slow.submit(bell, shots=1)
    slow.submit(bell, shots=1)
    slow.refresh()
    assert slow.average_queue_time == 60.0  # two 60 s jobs on two slots
    assert slow.input_data_format == "qsession.circuit.v1"
