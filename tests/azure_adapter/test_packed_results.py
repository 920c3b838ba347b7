"""The Azure face decodes packed bits (and results stored unpacked before) to the same outcomes."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from qsession_provider.azure import Workspace
from qsession_provider.azure._results import decode
from qsession_provider.core.clock import VirtualClock
from qsession_provider.core.ir import PackedBits
from qsession_provider.errors import InputError

WIDE_QASM = """OPENQASM 2.0;
include "qelib1.inc";
qreg q[3];
creg a[1];
creg wide[11];
x q[0];
x q[2];
measure q[0] -> a[0];
measure q[1] -> wide[0];
measure q[2] -> wide[9];
"""


def outcome_table(registers: dict[str, Any], shots: int) -> Any:
    return decode({"results": [{"registers": registers, "shots": shots}]})


@pytest.mark.parametrize("sizes", [(3,), (11,), (2, 9), (0, 4), (1, 1, 1), (0,)])
def test_packed_and_unpacked_registers_give_the_same_outcomes(sizes: tuple[int, ...]) -> None:
    rng = np.random.default_rng(sum(sizes))
    unpacked = {f"r{i}": rng.integers(0, 2, (200, n), dtype=np.uint8) for i, n in enumerate(sizes)}
    packed = {name: PackedBits.from_bits(bits) for name, bits in unpacked.items()}
    old, new = outcome_table(unpacked, 200), outcome_table(packed, 200)
    assert old == new
    # Each shot's outcome is its bits, register by register, bit 0 first.
    for shot in (0, 57, 199):
        parts = [unpacked[name][shot].tolist() for name in unpacked]
        want = parts[0] if len(parts) == 1 else tuple(parts)
        assert new.outcomes[new.shot_indices[shot]] == want
    # Outcomes come in the order of their bit lists.
    flat = [list(o) if isinstance(o, list) else [b for p in o for b in p] for o in new.outcomes]
    assert flat == sorted(flat)


def test_a_register_that_is_not_bits_is_named() -> None:
    with pytest.raises(InputError, match="register 'c': expected bits, got str"):
        outcome_table({"c": "0101"}, 4)


def test_a_workspace_job_with_wide_registers_reads_its_packed_result() -> None:
    workspace = Workspace(
        resource_id="/subscriptions/s/resourceGroups/rg/providers/Microsoft.Quantum/Workspaces/w",
        store=":memory:",
        clock=VirtualClock(),
        keep_results=5,
    )
    try:
        assert workspace.runtime.store.keep_results == 5
        target = workspace.get_targets("statevector")
        job = target.submit(WIDE_QASM, shots=6)
        wide = [0] * 11
        wide[9] = 1
        assert job.get_results_histogram() == {
            str(([1], wide)): {"outcome": ([1], wide), "count": 6}
        }
        assert job.get_results_shots() == [([1], wide)] * 6
    finally:
        workspace.runtime.shutdown(wait=False, cancel_pending=True)
