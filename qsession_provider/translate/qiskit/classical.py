"""Classical bits of a Qiskit circuit: registers, bit locations and ``if_else`` conditions."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from qiskit.circuit import ClassicalRegister, Clbit, QuantumCircuit

from ...core.ir.circuit import Condition
from ...errors import InvalidCircuitError

__all__ = ["LOOSE_CLBITS_REGISTER", "Locations", "clbit_locations", "condition_for"]

#: Name of the synthetic register holding, in circuit order, the clbits that belong to no
#: ``ClassicalRegister`` (underscores are appended while it clashes with a circuit register).
LOOSE_CLBITS_REGISTER = "__loose_clbits__"

#: Every (register name, index) a clbit belongs to; registers may overlap, so there can be several.
Locations = tuple[tuple[str, int], ...]


def clbit_locations(circuit: QuantumCircuit) -> tuple[dict[str, int], dict[Any, Locations]]:
    """Registers ``{name: size}`` of ``circuit`` and the locations of each of its clbits."""
    registers: dict[str, int] = {}
    locs: dict[Any, list[tuple[str, int]]] = {}
    for creg in circuit.cregs:
        registers[creg.name] = len(creg)
        for i, bit in enumerate(creg):
            locs.setdefault(bit, []).append((creg.name, i))
    loose = [bit for bit in circuit.clbits if bit not in locs]
    if loose:
        name = LOOSE_CLBITS_REGISTER
        while name in registers:
            name += "_"
        registers[name] = len(loose)
        for i, bit in enumerate(loose):
            locs[bit] = [(name, i)]
    return registers, {bit: tuple(where) for bit, where in locs.items()}


def condition_for(
    target: Any, value: Any, cmap: Mapping[Any, Locations], registers: Mapping[str, int]
) -> Condition:
    """The IR condition for an ``if_else`` condition ``(Clbit | ClassicalRegister, value)``."""
    if isinstance(target, Clbit):
        register, bit = cmap[target][0]
        return Condition(register, int(value), bit)
    if isinstance(target, ClassicalRegister):
        locs = [cmap[b] for b in target]
        # The register as seen from the top-level circuit: a whole program register, in order.
        for register, _ in locs[0] if locs else ():
            if registers.get(register) == len(locs) and all(
                (register, i) in loc for i, loc in enumerate(locs)
            ):
                return Condition(register, int(value))
        if len(locs) == 1:
            register, bit = locs[0][0]
            return Condition(register, int(value), bit)
    raise InvalidCircuitError(f"unsupported 'if_else' condition on {target!r}")
