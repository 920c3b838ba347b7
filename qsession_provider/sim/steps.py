"""What a compiled circuit is made of: steps on simulated positions, and kernel gates.

A :class:`GateStep` is one IR gate renumbered onto the simulated positions, a
:class:`MeasureStep` a mid-circuit measurement that branches, a :class:`ResetStep` a
reset. A :class:`KernelGate` is what one kernel call of a plan applies: a fused block of
steps, or one step as it is.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np

from ..core.ir.circuit import Condition
from ..core.ir.gates import gate_spec
from ..core.ir.params import ParamExpr

__all__ = [
    "KIND_DENSE",
    "KIND_DIAGONAL",
    "GateStep",
    "KernelGate",
    "MeasureStep",
    "ResetStep",
    "Step",
    "data_size",
]

#: Kernel gate kinds (``qs_gate_kind`` in csrc/kernels.h).
KIND_DENSE = 0
KIND_DIAGONAL = 1


def data_size(kind: int, targets: int) -> int:
    """Complex entries of a gate's data: ``4**k`` for a dense matrix, ``2**k`` for a diagonal."""
    return 2**targets if kind == KIND_DIAGONAL else 4**targets


@dataclass(frozen=True)
class GateStep:
    """A gate on compacted qubit positions; ``data`` fixed, or built from ``params`` when bound."""

    kind: int
    targets: tuple[int, ...]
    controls: tuple[int, ...]
    ctrl_state: int
    data: np.ndarray | None
    name: str
    params: tuple[Any, ...]
    condition: Condition | None

    def bind(self, values: Mapping[str, float]) -> np.ndarray:
        """The flattened matrix (dense) or diagonal at ``values``."""
        if self.data is not None:
            return self.data
        nums = tuple(
            float(p.evaluate(values)) if isinstance(p, ParamExpr) else p for p in self.params
        )
        spec = gate_spec(self.name)
        if self.kind == KIND_DIAGONAL:
            assert spec.diagonal is not None
            return np.asarray(spec.diagonal(*nums), dtype=np.complex128)
        return np.asarray(spec.matrix(*nums), dtype=np.complex128).ravel()

    def apply(self, kernel: ModuleType, state: np.ndarray, values: Mapping[str, float]) -> None:
        """Apply this gate at ``values`` to ``state`` (one kernel call)."""
        data = self.bind(values)
        if self.kind == KIND_DIAGONAL:
            kernel.apply_diagonal(state, self.targets, data, self.controls, self.ctrl_state)
        else:
            k = len(self.targets)
            kernel.apply_matrix(
                state, self.targets, data.reshape(2**k, 2**k), self.controls, self.ctrl_state
            )


@dataclass(frozen=True)
class MeasureStep:
    """A mid-circuit measurement that branches (``position`` None: untouched qubit, reads 0)."""

    position: int | None
    register: str
    bit: int
    condition: Condition | None


@dataclass(frozen=True)
class ResetStep:
    """A reset of the qubit at ``position``."""

    position: int
    condition: Condition | None


Step = GateStep | MeasureStep | ResetStep


@dataclass
class KernelGate:
    """One gate for the kernel: a fused block, or an original gate run as it is (``direct``).

    Attributes:
        kind: :data:`KIND_DENSE` or :data:`KIND_DIAGONAL`.
        targets: target qubits, numbered inside the gate's tile.
        controls: control qubits, numbered inside the gate's tile.
        ctrl_state: required control values (bit i for ``controls[i]``; -1: all ones).
        ops: indices of the steps it applies, in order.
        direct: True if it is the single step ``ops[0]`` as it is, not a product.
        global_targets: ``targets`` in plan numbering.
    """

    kind: int
    targets: tuple[int, ...]
    controls: tuple[int, ...]
    ctrl_state: int
    ops: list[int]
    direct: bool
    global_targets: tuple[int, ...]

    @property
    def data_size(self) -> int:
        """Complex entries of this gate's matrix or diagonal."""
        return data_size(self.kind, len(self.targets))
