"""Quil -> IR (Azure's Rigetti input format), parsed with the ``quil`` package."""

from __future__ import annotations

from .reader import QuilError, quil_to_ir

__all__ = ["QuilError", "quil_to_ir"]
