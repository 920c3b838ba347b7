"""Execution spans of a primitive job's result, as IBM's runtime reports them.

IBM puts ``metadata["execution"]["execution_spans"]`` (qiskit-ibm-runtime's
``ExecutionSpans``) on every primitive result: when each part of each pub's data was taken
on the device. Ours hold one ``SliceSpan`` per pub covering all of its data, on the
runtime's clock:

- on an emulated QPU, the device's timing model: the job's fixed overhead first, then the
  pubs in order, each taking ``per_circuit * executions + per_shot * shots`` (an estimator
  pub's shots are what its precision costs on hardware, ``1/precision**2`` per execution,
  4096 when exact), scaled to end at the job's end;
- on a simulator (no timing model), the job's real start to end, shared between the pubs
  by their work (executions times shots); on a virtual clock a simulator job takes no
  time, so its spans have none.
"""

from __future__ import annotations

import math
from datetime import datetime, timezone
from typing import Any

from qiskit_ibm_runtime.execution_span import ExecutionSpans, SliceSpan

from ..core.device import TimingModel
from ..core.job import JobRecord

__all__ = ["add_execution_spans", "execution_spans"]

#: Shots an exact estimator pub costs per execution on hardware (IBM's default).
EXACT_SHOTS = 4096


def execution_spans(record: JobRecord, timing: TimingModel, result: Any) -> ExecutionSpans:
    """The spans of ``result`` (a ``PrimitiveResult``) for the job ``record`` ran."""
    start = record.started_at if record.started_at is not None else record.created_at
    end = record.finished_at if record.finished_at is not None else start
    sizes = [_size(pub) for pub in result]
    if timing.is_zero:
        weights = [float(max(1, executions * shots)) for executions, shots in sizes]
    else:
        start = min(end, start + timing.per_job)
        weights = [
            timing.per_circuit * executions + timing.per_shot * executions * shots
            for executions, shots in sizes
        ]
    total = sum(weights)
    scale = (end - start) / total if total > 0 else 0.0
    spans = []
    at = start
    for index, (pub, weight) in enumerate(zip(result, weights)):
        stop = min(end, at + weight * scale) if index < len(weights) - 1 else end
        shape = tuple(int(n) for n in pub.data.shape)
        spans.append(SliceSpan(_utc(at), _utc(stop), {index: (shape, slice(0, math.prod(shape)))}))
        at = stop
    return ExecutionSpans(spans)


def add_execution_spans(result: Any, record: JobRecord, timing: TimingModel) -> Any:
    """Put the spans into ``result.metadata["execution"]`` (as IBM does) and return it."""
    execution = result.metadata.setdefault("execution", {})
    execution["execution_spans"] = execution_spans(record, timing, result)
    return result


def _size(pub: Any) -> tuple[int, int]:
    """``(executions, shots per execution)`` of a pub result."""
    executions = math.prod(int(n) for n in pub.data.shape)
    metadata = pub.metadata
    if "shots" in metadata:
        return executions, int(metadata["shots"])
    precision = float(metadata.get("target_precision") or 0.0)
    return executions, EXACT_SHOTS if precision == 0 else math.ceil(1.0 / precision**2)


def _utc(when: float) -> datetime:
    return datetime.fromtimestamp(when, tz=timezone.utc)
