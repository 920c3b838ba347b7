"""Cirq circuits → neutral :class:`~qsession_provider.core.ir.circuit.Circuit`.

Cirq is big-endian (the first qubit of an order is the most significant bit of a state
index) while the IR is little-endian, so qubit ``i`` of the qubit order becomes IR qubit
``n - 1 - i``; the IR circuit's final state then equals ``cirq.final_state_vector`` element
for element. A gate whose Cirq unitary acts on ``(a, b, ...)`` becomes an IR gate on the
mapped qubits in reverse order, with the same matrix. Common gates keep their (possibly
symbolic) exponents as library gates; other unitary gates become ``"unitary"`` matrices
or are decomposed. A ``cirq.StatePreparationChannel`` (its Kraus operators ``|psi><i|``) is a
reset of its qubits and then dense blocks mapping ``|0>`` to the state
(:mod:`..state_prep`); a reset of a qubit known to be in ``|0>`` is left out.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import cirq
import sympy

from ...core.ir import circuit as ir
from ...core.ir.circuit import MAX_MATRIX_QUBITS, Circuit
from ...errors import InvalidCircuitError, UnboundParameterError
from ..context import TOP, CircuitBuilder, Context
from ..state_prep import MAX_PREPARED_QUBITS, ZeroQubits, preparation_blocks, state_vector
from .classical import condition_for, measurement_key
from .noise import is_noise, noise_channel
from .observables import qubit_index_map
from .params import ParamConverter

__all__ = ["circuit_to_ir", "resolver_values"]

_MAX_DEPTH = 64

#: EigenGate families translated as ``(exponent, global_shift)`` library gates, with the
#: number of leading control qubits. Controlled ones keep the shift as a global phase,
#: since Cirq's shift multiplies the whole unitary, not just the controlled block.
_EIGEN_GATES: dict[type, tuple[str, int]] = {
    cirq.XPowGate: ("xpow", 0),
    cirq.YPowGate: ("ypow", 0),
    cirq.ZPowGate: ("zpow", 0),
    cirq.HPowGate: ("hpow", 0),
    cirq.SwapPowGate: ("swappow", 0),
    cirq.ISwapPowGate: ("iswappow", 0),
    cirq.XXPowGate: ("xxpow", 0),
    cirq.YYPowGate: ("yypow", 0),
    cirq.ZZPowGate: ("zzpow", 0),
    cirq.CZPowGate: ("zpow", 1),
    cirq.CXPowGate: ("xpow", 1),
    cirq.CCZPowGate: ("zpow", 2),
    cirq.CCXPowGate: ("xpow", 2),
}
_ROTATIONS: dict[type, str] = {cirq.Rx: "rx", cirq.Ry: "ry", cirq.Rz: "rz"}

#: How a gate family translates: ``("rotation" | "eigen", IR gate name, leading controls)``.
_Family = tuple[str, str, int]


class _Translator(CircuitBuilder):
    """Accumulates the operations of one circuit translation."""

    def __init__(self, index: Mapping[cirq.Qid, int]) -> None:
        super().__init__()
        self.index = index
        self.registers: dict[str, int] = {}
        self.param = ParamConverter()
        self.families: dict[type, _Family | None] = {}
        self.known_zero = ZeroQubits(self.ops)

    def targets(self, qubits: Sequence[cirq.Qid]) -> tuple[int, ...]:
        """IR target qubits of a gate on ``qubits`` (reversed: Cirq is big-endian)."""
        return tuple(self.index[q] for q in reversed(qubits))

    # -- operations -----------------------------------------------------------------------
    def operation(self, op: cirq.Operation, ctx: Context, depth: int) -> None:
        """Translate one operation (recursing into wrappers and decompositions)."""
        if depth > _MAX_DEPTH:
            raise InvalidCircuitError(f"decomposition of {op!r} nests deeper than {_MAX_DEPTH}")
        if isinstance(op, cirq.TaggedOperation):
            op = op.untagged
        if any(d != 2 for d in cirq.qid_shape(op)):
            raise InvalidCircuitError(f"operation {op!r} acts on qudits; only qubits are supported")
        if isinstance(op, cirq.ClassicallyControlledOperation):
            self.classically_controlled(op, ctx, depth)
        elif isinstance(op, cirq.ControlledOperation):
            state = _control_state(op.control_values, op)
            inner = ctx.add_controls([self.index[q] for q in op.controls], state)
            self.operation(op.sub_operation, inner, depth + 1)
        elif isinstance(op, cirq.CircuitOperation):
            try:
                subs = cirq.decompose_once(op)
            except ValueError as exc:  # repeat_until or symbolic repetitions
                raise InvalidCircuitError(f"unsupported CircuitOperation: {exc}") from None
            for sub in subs:
                self.operation(sub, ctx, depth + 1)
        elif op.gate is not None:
            self.gate_operation(op.gate, op, ctx, depth)
        else:
            self.generic(op, str(op), ctx, depth)

    def gate_operation(self, gate: cirq.Gate, op: cirq.Operation, ctx: Context, depth: int) -> None:
        """Translate an operation whose gate is known."""
        qubits, label = op.qubits, type(gate).__name__
        family = self.family(type(gate))
        if family is not None:
            self.family_gate(gate, family, qubits, ctx, label)
        elif isinstance(gate, cirq.FSimGate):
            params = (gate.theta, gate.phi)
            self.gate("fsim", self.targets(qubits), self.param.all(params), ctx, label)
        elif isinstance(gate, cirq.PhasedXPowGate):
            params = (gate.phase_exponent, gate.exponent, gate.global_shift)
            self.gate("phased_xpow", self.targets(qubits), self.param.all(params), ctx, label)
        elif isinstance(gate, cirq.PhasedXZGate):
            params = (gate.x_exponent, gate.z_exponent, gate.axis_phase_exponent)
            self.gate("phased_xz", self.targets(qubits), self.param.all(params), ctx, label)
        elif isinstance(gate, cirq.CSwapGate):
            inner = ctx.add_controls([self.index[qubits[0]]], 1)
            self.gate("swap", self.targets(qubits[1:]), (), inner, label)
        elif isinstance(gate, cirq.ControlledGate):
            sub = gate.sub_gate.on(*qubits[gate.num_controls() :])
            state = _control_state(gate.control_values, op)
            inner = ctx.add_controls([self.index[q] for q in qubits[: gate.num_controls()]], state)
            self.operation(sub, inner, depth + 1)
        elif isinstance(gate, cirq.GlobalPhaseGate):
            if cirq.is_parameterized(gate):
                raise _symbolic_error(gate)
            self.phase(_angle(complex(gate.coefficient)), ctx, label)
        elif isinstance(gate, cirq.IdentityGate):
            return
        elif isinstance(gate, cirq.MeasurementGate):
            self.measurement(gate, qubits, ctx)
        elif isinstance(gate, cirq.ResetChannel):
            if ctx.controls:
                raise InvalidCircuitError(f"a reset cannot be controlled ({op!r})")
            self.resets(qubits, ctx)
        elif isinstance(gate, cirq.StatePreparationChannel):
            self.state_preparation(gate, op, ctx)
        elif is_noise(gate):  # a noise channel (noise.py)
            if ctx.controls:
                raise InvalidCircuitError(f"a noise channel cannot be controlled ({op!r})")
            self.ops.append(noise_channel(gate, self.targets(qubits), ctx.condition))
        else:
            self.generic(op, str(gate), ctx, depth)

    def resets(self, qubits: Sequence[cirq.Qid], ctx: Context) -> None:
        """Reset each qubit not known to be in |0> already."""
        for q in qubits:
            if not self.known_zero((self.index[q],)):
                self.ops.append(ir.Reset(self.index[q], ctx.condition))

    def state_preparation(
        self, gate: cirq.StatePreparationChannel, op: cirq.Operation, ctx: Context
    ) -> None:
        """Reset the qubits, then the blocks mapping |0...0> to the target state."""
        if ctx.controls:
            raise InvalidCircuitError(f"a state preparation cannot be controlled ({op!r})")
        n = len(op.qubits)
        blocks = preparation_blocks(state_vector(gate.state, n, f"state preparation on {n} qubits"))
        if blocks is None:
            raise InvalidCircuitError(
                f"unsupported operation {gate}: a state preparation on {n} qubits; at most "
                f"{MAX_PREPARED_QUBITS} are supported"
            )
        self.resets(op.qubits, ctx)
        targets = self.targets(op.qubits)  # local qubit j is bit j of Cirq's big-endian index
        label = "StatePreparationChannel"
        for on, controls, matrix in blocks:
            qubits = tuple(targets[j] for j in on)
            if matrix is None:
                inner = ctx.add_controls([targets[j] for j in controls], (1 << len(controls)) - 1)
                self.gate("x", qubits, (), inner, label)
            else:
                self.gate("unitary", qubits, (), ctx, label, matrix)

    def family(self, cls: type) -> _Family | None:
        """The rotation or EigenGate family of a gate class (subclasses included), or None."""
        try:
            return self.families[cls]
        except KeyError:
            pass
        found = _family_of(cls)
        self.families[cls] = found
        return found

    def family_gate(
        self,
        gate: Any,
        family: _Family,
        qubits: Sequence[cirq.Qid],
        ctx: Context,
        label: str,
    ) -> None:
        """A rotation, or an EigenGate as ``(exponent, global_shift)``, keeping symbols."""
        kind, name, nctrl = family
        if kind == "rotation":
            angle = gate.exponent * (sympy.pi if cirq.is_parameterized(gate) else math.pi)
            self.gate(name, self.targets(qubits), (self.param(angle),), ctx, label)
            return
        t, s = self.param(gate.exponent), self.param(gate.global_shift)
        if nctrl == 0:
            self.gate(name, self.targets(qubits), (t, s), ctx, label)
            return
        inner = ctx.add_controls([self.index[q] for q in qubits[:nctrl]], (1 << nctrl) - 1)
        self.gate(name, self.targets(qubits[nctrl:]), (t, 0.0), inner, label)
        if not (isinstance(s, float) and s == 0.0):
            self.phase(t * s * math.pi, ctx, label)

    def generic(self, op: cirq.Operation, name: str, ctx: Context, depth: int) -> None:
        """Any other operation: a matrix if small and unitary, else its decomposition."""
        parameterized = cirq.is_parameterized(op)
        if not parameterized and len(op.qubits) <= MAX_MATRIX_QUBITS and cirq.has_unitary(op):
            matrix = cirq.unitary(op)
            self.gate("unitary", self.targets(op.qubits), (), ctx, name, matrix)
            return
        decomposition = cirq.decompose_once(op, default=None)
        if decomposition is not None:
            for sub in decomposition:
                self.operation(sub, ctx, depth + 1)
            return
        if parameterized:
            raise _symbolic_error(name)
        if not cirq.has_unitary(op):
            raise InvalidCircuitError(
                f"unsupported operation {name}: it is not unitary (noise channels and other "
                "non-unitary operations cannot run on the statevector engine)"
            )
        raise InvalidCircuitError(
            f"unsupported operation {name}: it acts on more than {MAX_MATRIX_QUBITS} qubits "
            "and has no decomposition"
        )

    def measurement(
        self, gate: cirq.MeasurementGate, qubits: Sequence[cirq.Qid], ctx: Context
    ) -> None:
        """One register per key: bit ``j`` is the ``j``-th measured qubit."""
        key = measurement_key(gate)
        if ctx.controls:
            raise InvalidCircuitError(f"measurement {key!r} cannot be controlled")
        if key in self.registers:
            raise InvalidCircuitError(
                f"measurement key {key!r} is used more than once; repeated measurement keys "
                "are not supported (give each measurement its own key)"
            )
        self.registers[key] = len(qubits)
        self.ops.extend(
            ir.Measure(self.index[q], key, j, ctx.condition) for j, q in enumerate(qubits)
        )

    def classically_controlled(
        self, op: cirq.ClassicallyControlledOperation, ctx: Context, depth: int
    ) -> None:
        """An operation under one simple measurement-key condition."""
        conditions = list(op.classical_controls)
        if len(conditions) != 1:
            raise InvalidCircuitError(
                f"unsupported classical control of {op!r}: exactly one condition is supported"
            )
        if ctx.condition is not None:
            raise InvalidCircuitError(f"unsupported nested classical control in {op!r}")
        condition = condition_for(conditions[0], self.registers)
        self.operation(op.without_classical_controls(), ctx.with_condition(condition), depth + 1)


def _family_of(cls: type) -> _Family | None:
    """How a gate class translates: the first rotation, else EigenGate, class of its MRO."""
    rotation = next((c for c in cls.__mro__ if c in _ROTATIONS), None)
    if rotation is not None:
        return ("rotation", _ROTATIONS[rotation], 0)
    eigen = next((c for c in cls.__mro__ if c in _EIGEN_GATES), None)
    return None if eigen is None else ("eigen", *_EIGEN_GATES[eigen])


def _angle(coefficient: complex) -> float:
    """The phase angle of a unit-modulus coefficient."""
    return math.atan2(coefficient.imag, coefficient.real)


def _control_state(values: Any, op: Any) -> int:
    """The controls' required values as a ``ctrl_state`` (bit ``i``: control ``i``), or an error."""
    if isinstance(values, cirq.SumOfProducts):
        products = list(values)
        if len(products) != 1:
            raise InvalidCircuitError(
                f"unsupported control values {values!r} in {op!r}: only one value per control "
                "qubit is supported"
            )
        per_qubit: list[Any] = [(v,) for v in products[0]]
    else:
        per_qubit = [tuple(v) if isinstance(v, Iterable) else (v,) for v in values]
    state = 0
    for i, allowed in enumerate(per_qubit):
        if len(allowed) != 1 or allowed[0] not in (0, 1):
            raise InvalidCircuitError(
                f"unsupported control values {values!r} in {op!r}: each control must require "
                "exactly 0 or 1"
            )
        state |= int(allowed[0]) << i
    return state


def _symbolic_error(gate: Any) -> InvalidCircuitError:
    """The error for a symbolic gate the library cannot express."""
    return InvalidCircuitError(
        f"gate {gate} has symbolic parameters that the gate library cannot express; "
        "resolve the parameters first (cirq.resolve_parameters)"
    )


def circuit_to_ir(
    circuit: cirq.AbstractCircuit,
    qubit_order: cirq.QubitOrderOrList = cirq.QubitOrder.DEFAULT,
) -> tuple[Circuit, list[cirq.Qid]]:
    """Translate a Cirq circuit into the neutral IR.

    Args:
        circuit: the circuit; sympy symbols stay symbolic (by name) where the gate library
            can express them.
        qubit_order: the qubit order, as for ``cirq.final_state_vector``.

    Returns:
        The IR circuit and the qubits in order; qubit ``i`` of that list is IR qubit
        ``n - 1 - i`` (see :func:`qubit_index_map`). Each measurement key becomes a register
        whose bit ``j`` is the ``j``-th qubit of the measurement.

    Raises:
        InvalidCircuitError: a noise channel or other non-unitary gate, a measurement with
            ``invert_mask``/``confusion_map`` or a repeated key, an unsupported classical
            control, or a symbolic gate outside the library (resolve parameters first).
    """
    qubits = list(cirq.QubitOrder.as_qubit_order(qubit_order).order_for(circuit.all_qubits()))
    translator = _Translator(qubit_index_map(qubits))
    for op in circuit.all_operations():
        translator.operation(op, TOP, 0)
    ir_circuit = Circuit(
        len(qubits),
        translator.ops,
        translator.registers,
        global_phase=translator.global_phase,
    )
    return ir_circuit, qubits


def resolver_values(
    resolver: cirq.ParamResolverOrSimilarType, ir_circuit: Circuit
) -> dict[str, float]:
    """The value of each parameter of ``ir_circuit`` under a Cirq resolver.

    Args:
        resolver: a ``cirq.ParamResolver`` or anything it accepts (dict, None).
        ir_circuit: an IR circuit from :func:`circuit_to_ir`.

    Returns:
        ``{name: value}`` for every name in ``ir_circuit.parameters``.

    Raises:
        UnboundParameterError: the resolver gives no value for a symbol.
        InvalidCircuitError: a value is complex or not finite.
    """
    resolver = cirq.ParamResolver(resolver)
    values: dict[str, float] = {}
    for name in ir_circuit.parameters:
        value = resolver.value_of(sympy.Symbol(name))
        if isinstance(value, sympy.Basic) and value.free_symbols:
            raise UnboundParameterError(f"the resolver gives no value for parameter {name!r}")
        try:
            number = complex(value)
        except (TypeError, ValueError):
            raise InvalidCircuitError(
                f"value {value!r} of parameter {name!r} is not numeric"
            ) from None
        if number.imag != 0 or not math.isfinite(number.real):
            raise InvalidCircuitError(f"value {value!r} of parameter {name!r} is not a finite real")
        values[name] = number.real
    return values
