"""Decoding qiskit-ibm-runtime's job submissions and encoding their results: needs qiskit.

This module is imported only when a job is submitted or a result is read through the IBM
API (:func:`load`), never when the server starts: the server runs without qiskit, and then
answers these requests 501 naming the extra to install. It loads qiskit,
qiskit-ibm-runtime and the Qiskit face's decoding helpers (``qiskit/_ibm_inputs.py``,
``qiskit/_decoding.py``): the client's inputs are decoded with its own ``RuntimeDecoder``
(QPY circuits inside) and turned into our neutral payload by the very rules our own
primitives use, and a result leaves as the client's ``RuntimeEncoder`` JSON of the
``PrimitiveResult`` our face builds, so both doors give identical results for one seed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from qiskit_ibm_runtime.exceptions import IBMInputValueError
from qiskit_ibm_runtime.results import QuantumProgramResult
from qiskit_ibm_runtime.utils.json import RuntimeDecoder, RuntimeEncoder

from ...errors import InputError
from ...qiskit._decoding import METADATA_KEY, decoding_from_metadata
from ...qiskit._ibm_inputs import request_from_ibm
from ...qiskit._translations import TranslationCache
from .program_results import quantum_program_result_text

__all__ = ["Submission", "decode_body", "encode_result", "submission"]

#: Programs the IBM API runs.
PROGRAMS = ("sampler", "estimator", "executor")

_CACHE = TranslationCache()


@dataclass(frozen=True)
class Submission:
    """A decoded ``POST /jobs``: what ``runtime.submit`` takes."""

    program_id: str
    payload: Any
    tags: list[str]
    max_execution_time: float | None
    metadata: dict[str, Any]


def decode_body(raw: bytes) -> dict[str, Any]:
    """The JSON object of a request body, decoded with the client's ``RuntimeDecoder``.

    Raises:
        InputError: not JSON, or not an object.
    """
    try:
        body = json.loads(raw, cls=RuntimeDecoder)
    except (ValueError, TypeError) as exc:
        raise InputError(f"the request body is not JSON of qiskit-ibm-runtime: {exc}") from None
    if not isinstance(body, dict):
        raise InputError(f"the request body must be a JSON object, got {type(body).__name__}")
    return body


def submission(body: dict[str, Any], params_text: str) -> Submission:
    """The job of a ``POST /jobs`` body (``params_text``: the params as sent, stored so
    that ``job.inputs`` answers them).

    Raises:
        InputError: unknown program, bad params, pubs, options or tags (the message names it).
    """
    program = body.get("program_id")
    if program not in PROGRAMS:
        raise InputError(
            f"field 'program_id' must be one of {', '.join(PROGRAMS)}, got {program!r}"
        )
    params = body.get("params")
    if not isinstance(params, dict):
        raise InputError(f"field 'params' must be an object, got {type(params).__name__}")
    options = {"job_tags": body.get("tags"), "max_execution_time": body.get("cost")}
    try:
        request = request_from_ibm(program, params, options, cache=_CACHE)
    except IBMInputValueError as exc:
        raise InputError(str(exc)) from None
    metadata = {METADATA_KEY: request.decoding.describe(), "ibm_params": params_text}
    return Submission(
        request.program_id, request.payload, request.tags, request.max_execution_time, metadata
    )


def encode_result(record: Any, raw: Any) -> str:
    """The result text of a done job, as the client's result decoders read it: the
    ``RuntimeEncoder`` JSON of a ``PrimitiveResult``, or for an ``executor`` job the
    executor schema's JSON (:mod:`.program_results`)."""
    decoding = decoding_from_metadata(record.metadata or {})
    result = raw if decoding is None else decoding.decode(raw)
    if isinstance(result, QuantumProgramResult):
        return quantum_program_result_text(result)
    return json.dumps(result, cls=RuntimeEncoder)
