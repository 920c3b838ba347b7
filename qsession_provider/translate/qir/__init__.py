"""QIR -> IR (``qsharp.compile(...)`` output, base and adaptive profile), read with pyqir."""

from __future__ import annotations

from .reader import OUTPUT, UNRECORDED, QirError, qir_to_ir

__all__ = ["OUTPUT", "UNRECORDED", "QirError", "qir_to_ir"]
