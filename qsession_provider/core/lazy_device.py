"""A device known by its summary whose full description is built on first use.

A plugin with many devices (IBM's fake backends: dozens, each a large JSON file) registers
:class:`LazyDevice` objects: listing devices reads only the summary given at registration
(name, qubits, slots, kind, description); anything else (``execute``, ``basis_gates``,
``coupling_map``, ``timing``, ``properties``, ...) builds the real :class:`Device` once,
the first time it is read, in whichever thread asks first.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from ..errors import InputError, PluginError
from .device import Device

__all__ = ["LazyDevice"]

#: Fields every listing reads; given at registration, checked against the built device.
SUMMARY_FIELDS = ("num_qubits", "slots", "simulator", "description")


def _built(field: str) -> property:
    return property(lambda self: getattr(self.device(), field), doc=f"The device's ``{field}``.")


class LazyDevice(Device):
    """A :class:`Device` whose description is built by ``build()`` on first use.

    ``name`` and the summary (``num_qubits``, ``slots``, ``simulator``, ``description``)
    answer at once; any other attribute, :meth:`validate` and :meth:`execution_time` build
    the device (once; thread-safe). A build that fails raises :class:`PluginError` naming
    the device, and is tried again at the next use.

    Args:
        name: the device name.
        build: returns the full device; its name and summary must equal the ones given.
        num_qubits, slots, simulator, description: the summary.

    Raises:
        InputError: an empty name or a qubit or slot count that is not a positive integer.
    """

    def __init__(  # no dataclass __init__: the other fields are properties
        self,
        name: str,
        build: Callable[[], Device],
        *,
        num_qubits: int,
        slots: int = 1,
        simulator: bool = False,
        description: str = "",
    ) -> None:
        if not isinstance(name, str) or not name.strip():
            raise InputError(f"device name must be a non-empty string, got {name!r}")
        for what, value in (("num_qubits", num_qubits), ("slots", slots)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InputError(
                    f"device {name!r}: {what} must be a positive integer, got {value!r}"
                )
        if not callable(build):
            raise InputError(f"device {name!r}: build must be callable")
        summary = {
            "name": name,
            "num_qubits": num_qubits,
            "slots": slots,
            "simulator": bool(simulator),
            "description": str(description),
        }
        for key, value in summary.items():
            object.__setattr__(self, key, value)
        object.__setattr__(self, "_build", build)
        object.__setattr__(self, "_real", None)
        object.__setattr__(self, "_lock", threading.Lock())

    @property
    def built(self) -> bool:
        """Whether the full description has been built."""
        return self._real is not None

    def device(self) -> Device:
        """The full device (built on the first call).

        Raises:
            PluginError: the build failed or gave a device that does not match the summary.
        """
        real = self._real
        if real is not None:
            return real
        with self._lock:
            if self._real is None:
                object.__setattr__(self, "_real", self._checked(self._call_build()))
            return self._real  # type: ignore[return-value]

    def _call_build(self) -> Device:
        try:
            real = self._build()
        except Exception as exc:
            raise PluginError(
                f"device {self.name!r} could not be built: {type(exc).__name__}: {exc}"
            ) from exc
        if not isinstance(real, Device) or isinstance(real, LazyDevice):
            raise PluginError(f"device {self.name!r}: build() returned {real!r}, not a Device")
        return real

    def _checked(self, real: Device) -> Device:
        for field in ("name", *SUMMARY_FIELDS):
            if getattr(real, field) != getattr(self, field):
                raise PluginError(
                    f"device {self.name!r}: the built device's {field} is "
                    f"{getattr(real, field)!r}, its summary said {getattr(self, field)!r}"
                )
        return real

    execute = _built("execute")
    basis_gates = _built("basis_gates")
    coupling_map = _built("coupling_map")
    timing = _built("timing")
    programs = _built("programs")
    can_cancel_running = _built("can_cancel_running")
    max_shots = _built("max_shots")
    max_executions = _built("max_executions")
    properties = _built("properties")

    def validate(self, program_id: str, payload: Any) -> None:
        """:meth:`Device.validate` of the full device."""
        self.device().validate(program_id, payload)

    def execution_time(self, payload: Any) -> float:
        """Modelled seconds the payload occupies the device (builds it)."""
        return self.device().execution_time(payload)

    def __repr__(self) -> str:
        if not self.built:
            kind = "simulator" if self.simulator else "QPU"
            return f"<Device {self.name!r} {kind} {self.num_qubits}q (not built yet)>"
        return repr(self.device())
