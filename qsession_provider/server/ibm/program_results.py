"""An ``executor`` job's result as IBM's executor service answers it: needs qiskit.

qiskit-ibm-runtime's ``Executor`` (and the client-side ``Sampler``/``Estimator`` built on
it) reads ``GET /jobs/{id}/results`` with its ``ExecutorResultDecoder``: JSON of an
``ibm_quantum_schemas`` ``QuantumProgramResultModel``, whose ``schema_version`` picks the
converter. The Qiskit face decodes our neutral result into a ``QuantumProgramResult``
(:mod:`qsession_provider.qiskit._decoding`); this module writes that result as schema
``v2.0``: per item its result arrays (compressed tensors) and metadata, the program's
passthrough data (the client-side primitives' post-processor reads it) and its semantic
role. The engine has no chunks, so ``chunk_timing`` is empty. Loaded by :mod:`.codec`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from ibm_quantum_schemas.common import CompressedTensorModel
from ibm_quantum_schemas.executor.version_2_0 import (
    ItemMetadataModel,
    MetadataModel,
    QuantumProgramResultItemModel,
    QuantumProgramResultModel,
)

__all__ = ["quantum_program_result_text"]


def _tree(value: Any) -> Any:
    """Passthrough data as the schema's data tree (arrays as compressed tensors)."""
    if isinstance(value, np.ndarray):
        return CompressedTensorModel.from_numpy(value)
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {str(k): _tree(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_tree(v) for v in value]
    return value


def quantum_program_result_text(result: Any) -> str:
    """The ``v2.0`` result JSON of a ``QuantumProgramResult``."""
    items = [
        QuantumProgramResultItemModel(
            results={
                name: CompressedTensorModel.from_numpy(np.asarray(array))
                for name, array in item.items()
            },
            metadata=ItemMetadataModel(),
        )
        for item in result
    ]
    model = QuantumProgramResultModel(
        schema_version="v2.0",
        data=items,
        metadata=MetadataModel(chunk_timing=[]),
        passthrough_data=_tree(result.passthrough_data),
        semantic_role=getattr(result, "_semantic_role", None),
    )
    return model.model_dump_json()
