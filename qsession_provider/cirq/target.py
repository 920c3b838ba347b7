"""A device of the runtime as a Cirq target: it submits circuits, hosts sessions and samplers.

Get targets from :meth:`Service.get_target <qsession_provider.cirq.Service.get_target>`;
the session rules (every submission joins the target's latest session) are those of
:class:`~qsession_provider.cirq.host.SessionHost`.
"""

from __future__ import annotations

from typing import Any

import cirq

from ..client import RuntimeAPI
from ..core.device import Device
from ..errors import SessionClosedError
from .host import SessionHost
from .job import Job, submit_sweep
from .sampler import Sampler

__all__ = ["Target"]


class Target(SessionHost):
    """A device of the runtime, as a Cirq target that can host sessions.

    Get targets from :meth:`Service.get_target` or :meth:`Service.targets`.

    Args:
        runtime: the runtime.
        device: the core device.
    """

    def __init__(self, runtime: RuntimeAPI, device: Device) -> None:
        super().__init__(runtime, device.name)
        self._device = device

    @property
    def num_qubits(self) -> int:
        """Number of qubits of the device."""
        return self._device.num_qubits

    @property
    def simulator(self) -> bool:
        """True for a simulator, False for an (emulated) QPU."""
        return self._device.simulator

    @property
    def description(self) -> str:
        """One line describing the device."""
        return self._device.description

    def submit(
        self,
        program: cirq.AbstractCircuit,
        name: str = "cirq-job",
        repetitions: int = 500,
        param_resolver: cirq.ParamResolverOrSimilarType = None,
        *,
        seed: int | None = None,
    ) -> Job:
        """Submit a circuit with one parameter assignment; joins the latest session.

        Raises:
            InputError: bad circuit, repetitions or resolver (nothing is queued).
            SessionClosedError: the latest session no longer accepts jobs.
        """
        session_id = self.get_latest_session_id()
        try:
            return submit_sweep(
                self._runtime,
                self.name,
                program,
                [cirq.ParamResolver(param_resolver)],
                repetitions,
                session_id=session_id,
                name=name,
                seed=seed,
            )
        except SessionClosedError as exc:
            raise SessionClosedError(
                f"{exc} (it is target {self.name!r}'s latest session: open another with "
                "target.open_session(), or set target.latest_session = None for job mode)"
            ) from None

    def sampler(self, seed: cirq.RANDOM_STATE_OR_SEED_LIKE = None, **kwargs: Any) -> Sampler:
        """A :class:`~qsession_provider.cirq.Sampler` on this target.

        Its jobs join the target's latest session at the time of each submission.
        ``kwargs`` (``name``, ``tags``, ``timeout``, ``session``) go to the sampler.
        """
        return Sampler(self, seed=seed, **kwargs)

    def __repr__(self) -> str:
        return f"<cirq Target {self.name!r} {self.num_qubits}q>"
