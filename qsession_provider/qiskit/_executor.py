"""The ``executor`` program: qiskit-ibm-runtime's client-side primitives inside our sessions.

qiskit-ibm-runtime's ``Executor`` and the ``executor_sampler.Sampler`` /
``executor_estimator.Estimator`` built on it do their pre- and post-processing in the client
and send the server a ``QuantumProgram``: a list of items, each a circuit plus either
parameter values (``CircuitItem``) or a samplomatic ``Samplex`` that draws randomized
parameter values (twirling, basis changes) and bookkeeping arrays (``SamplexItem``).

Because our service reports ``is_local = False``, those primitives encode the program as the
executor's JSON params and call ``session._run("executor", params, options)``, where they
join the path of every other job (:mod:`._ibm_inputs`), so session rules, job tags and
``max_execution_time`` apply. Here the params are decoded back into a ``QuantumProgram``
with qiskit-ibm-runtime's own converters; each item's samplex is sampled (with
qiskit-ibm-runtime's ``broadcast_sample``, seeded by ``options.simulator.seed_simulator``)
and every item becomes one pub of a neutral ``sampler`` job (shots = the program's shots
per element). The params schema drops simulator options, so the seed is read from the
post-processor options that the client-side Sampler/Estimator put in the passthrough data
(a bare ``Executor`` runs unseeded). The job's result becomes a ``QuantumProgramResult``
(bits per register as little-endian bool arrays, plus the samplex outputs), which
``RuntimeJob.result`` passes through qiskit-ibm-runtime's executor decoders: the
client-side sampler and estimator then post-process it exactly as they do for the cloud.

The samplex outputs, the program's passthrough data and the register layout are stored in
the job's metadata, so a job fetched by id from another process decodes too. Private
qiskit-ibm-runtime modules used: ``quantum_program.params_converters``,
``fake_provider.executor.broadcast_sample``, ``decoders.defaults``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from qiskit.primitives.containers import BindingsArray
from qiskit_ibm_runtime.exceptions import IBMInputValueError
from qiskit_ibm_runtime.fake_provider.executor.broadcast_sample import broadcast_sample
from qiskit_ibm_runtime.quantum_program import QuantumProgram
from qiskit_ibm_runtime.quantum_program.params_converters import (
    QUANTUM_PROGRAM_PARAMS_CONVERTERS,
)
from samplomatic.quantum_program import CircuitItem, SamplexItem

from ..core.ir.payload import SamplerPayload, SamplerPub
from ._decoding import ExecutorDecoding, storable
from ._errors import ibm_errors
from ._payloads import parameter_values
from ._translations import TranslationCache

__all__ = ["executor_payload"]


def _decode_program(inputs: Any) -> tuple[Any, Any]:
    """``(QuantumProgram, ExecutorOptions | None)`` from executor params or a program."""
    if isinstance(inputs, QuantumProgram):
        return inputs, None
    if not isinstance(inputs, Mapping) or "schema_version" not in inputs:
        raise IBMInputValueError("executor inputs must be the executor's params or a program")
    converter = QUANTUM_PROGRAM_PARAMS_CONVERTERS.get(inputs["schema_version"])
    if converter is None:
        raise IBMInputValueError(
            f"executor params schema {inputs['schema_version']!r} is not supported; known: "
            f"{sorted(QUANTUM_PROGRAM_PARAMS_CONVERTERS)}"
        )
    try:
        return converter.decoder(converter.model.model_validate(inputs))
    except ValueError as exc:
        raise IBMInputValueError(f"invalid executor params: {exc}") from exc


def _seed(options: Any, passthrough: Any) -> int | None:
    """``simulator.seed_simulator``: from the options if they carry it, else from the
    post-processor options the client-side Sampler/Estimator put in the passthrough data
    (the executor's params schema drops simulator options)."""
    seed = getattr(getattr(options, "simulator", None), "seed_simulator", None)
    if seed is None and isinstance(passthrough, Mapping):
        post = passthrough.get("post_processor")
        opts = post.get("options") if isinstance(post, Mapping) else None
        simulator = opts.get("simulator") if isinstance(opts, Mapping) else None
        if isinstance(simulator, Mapping):
            seed = simulator.get("seed_simulator")
    return None if seed is None else int(seed)


def executor_payload(
    inputs: Any, *, cache: TranslationCache
) -> tuple[SamplerPayload, ExecutorDecoding]:
    """The neutral ``sampler`` payload and the result decoding of an executor job.

    Args:
        inputs: the executor's params (a JSON-like dict) or a ``QuantumProgram``.
        cache: the translations to reuse.

    Raises:
        IBMInputValueError: the params cannot be decoded, or an item cannot run here.
    """
    program, options = _decode_program(inputs)
    meas_level = getattr(program, "meas_level", "classified")
    if meas_level != "classified":
        raise IBMInputValueError(
            f"meas_level={meas_level!r} is not supported: the simulator returns classified bits"
        )
    seed = _seed(options, program.passthrough_data)
    rng = np.random.default_rng(seed)
    pubs, items = [], []
    for index, item in enumerate(program.items):
        circuit = item.circuit
        extra: dict[str, Any] = {}
        if isinstance(item, SamplexItem):
            if not getattr(item.samplex, "_finalized", True):
                item.samplex.finalize()  # a samplex decoded from params is not finalized yet
            extra = broadcast_sample(item.samplex, item.samplex_arguments, item.shape, rng)
            values = extra.pop("parameter_values")
        elif isinstance(item, CircuitItem):
            values = item.circuit_arguments
        else:
            raise IBMInputValueError(f"item {index}: unsupported item {type(item).__name__}")
        shape = tuple(item.shape)
        if circuit.num_parameters:
            bindings = BindingsArray({tuple(circuit.parameters): np.asarray(values, float)})
        else:
            bindings = BindingsArray(shape=shape)
        with ibm_errors():
            neutral = cache.circuits.get(circuit)
            pubs.append(
                SamplerPub(
                    neutral, parameter_values(bindings, circuit, neutral), int(program.shots)
                )
            )
        items.append(
            {
                "cregs": [[creg.name, creg.size] for creg in circuit.cregs],
                "extra": extra,
                "circuit_metadata": storable(circuit.metadata, {}),
            }
        )
    with ibm_errors():
        payload = SamplerPayload(tuple(pubs), seed)
    decoding = ExecutorDecoding(
        items, program.passthrough_data, program._semantic_role, int(program.shots)
    )
    return payload, decoding
