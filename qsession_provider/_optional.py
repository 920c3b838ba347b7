"""Clear ImportErrors for the optional frameworks behind the faces."""

from __future__ import annotations

import importlib
from types import ModuleType

__all__ = ["require"]


def require(module: str, extra: str, face: str) -> ModuleType:
    """Import ``module`` or raise an ImportError that names the extra to install."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(
            f"{face} needs the optional dependency {module!r}, which is not installed. "
            f"Install it with: pip install 'qsession-provider[{extra}]'"
        ) from exc
