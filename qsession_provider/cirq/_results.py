"""Neutral sampler results → ``cirq.Result`` objects.

Results are :class:`JobResult` objects: ``cirq.ResultDict`` carrying the ``job_id``, like
``cirq_google.EngineResult``. ``measurements[key]`` is int8 ``(repetitions, n)`` with
column ``j`` the ``j``-th qubit of the measurement gate (the IR register's bit ``j``).
Every pub of a Cirq face sampler job has a leading axis of resolvers (see
:mod:`._payloads`), so :func:`sweep_results` reads one symbolic pub and one pub per
resolver the same way. The neutral result's registers are packed
(:class:`~qsession_provider.core.ir.bits.PackedBits`); each resolver's bits are unpacked
when its result is built (results stored before bits were kept packed hold uint8 arrays).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import cirq
import numpy as np

from ..core.ir.bits import PackedBits, as_packed
from ..errors import InputError

__all__ = ["JobResult", "cirq_results", "sweep_results"]


class JobResult(cirq.ResultDict):
    """A ``cirq.ResultDict`` that knows the id of the job that produced it.

    Mirrors ``cirq_google.EngineResult``: keyword-only constructor, a ``job_id``
    property and :meth:`from_result`.

    Args:
        job_id: the id of the job (None if unknown).
        params: the resolver the circuit ran with.
        measurements: ``{key: (repetitions, n) array}``.
        records: ``{key: (repetitions, instances, n) array}``; give this or ``measurements``.
    """

    def __init__(
        self,
        *,
        job_id: str | None = None,
        params: cirq.ParamResolver | None = None,
        measurements: Mapping[str, np.ndarray] | None = None,
        records: Mapping[str, np.ndarray] | None = None,
    ) -> None:
        super().__init__(params=params, measurements=measurements, records=records)
        self._job_id = job_id

    @property
    def job_id(self) -> str | None:
        """The id of the job that produced this result."""
        return self._job_id

    @classmethod
    def from_result(cls, result: cirq.Result, *, job_id: str | None) -> JobResult:
        """A :class:`JobResult` with the data of any ``cirq.Result``."""
        return cls(job_id=job_id, params=result.params, records=result.records)

    def __repr__(self) -> str:
        return (
            f"JobResult(job_id={self._job_id!r}, params={self.params!r}, "
            f"records={self._record_dict_repr()})"
        )


def cirq_results(
    result_registers: Mapping[str, np.ndarray | PackedBits],
    params: cirq.ParamResolverOrSimilarType,
    *,
    job_id: str | None,
) -> JobResult:
    """The Cirq result of one resolver.

    Args:
        result_registers: ``{key: (repetitions, n) bits}`` of one parameter set (packed
            bits of shape ``(repetitions,)`` or a 0/1 array; column ``j`` = ``j``-th qubit of
            the measurement).
        params: the resolver the circuit ran with.
        job_id: the job's id.

    Returns:
        A :class:`JobResult` with int8 ``measurements``.

    Raises:
        InputError: a register array is not two-dimensional.
    """
    measurements = {}
    for key, bits in result_registers.items():
        if isinstance(bits, PackedBits):
            arr = bits.unpack(np.int8)
        else:
            arr = np.asarray(bits).astype(np.int8)
        if arr.ndim != 2:
            raise InputError(
                f"measurement {key!r}: expected a (repetitions, qubits) array, got {arr.shape}"
            )
        measurements[str(key)] = arr
    return JobResult(job_id=job_id, params=cirq.ParamResolver(params), measurements=measurements)


def sweep_results(
    result: Mapping[str, Any],
    resolvers: Sequence[cirq.ParamResolverOrSimilarType],
    *,
    job_id: str | None,
) -> list[JobResult]:
    """Split the neutral result of a Cirq face sampler job into one result per resolver.

    Raises:
        InputError: the result does not have one parameter set per resolver.
    """
    try:
        pubs = list(result["pubs"])
    except (KeyError, TypeError):
        raise InputError("sampler result has no 'pubs' list") from None
    if not pubs:
        raise InputError("sampler result has no pubs")
    keys = list(pubs[0]["registers"])
    registers = {}
    for key in keys:
        parts = [as_packed(pub["registers"][key], where=f"register {key!r}") for pub in pubs]
        if any(len(part.shape) != 2 for part in parts):
            raise InputError(f"register {key!r}: expected (sets, repetitions, qubits) arrays")
        if len({part.num_bits for part in parts}) != 1:
            raise InputError(f"register {key!r}: the pubs measure different numbers of qubits")
        registers[key] = parts[0] if len(parts) == 1 else PackedBits.concatenate(parts)
    found = registers[keys[0]].shape[0] if keys else 0
    if found != len(resolvers):
        raise InputError(
            f"sampler result has {found} parameter sets for {len(resolvers)} resolvers"
        )
    return [
        cirq_results({key: arr[i] for key, arr in registers.items()}, resolver, job_id=job_id)
        for i, resolver in enumerate(resolvers)
    ]
