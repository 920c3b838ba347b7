"""Lazy re-exports for package ``__init__`` modules (PEP 562).

A package that lists names from several layers loads each layer only when one of its
names is first read, so importing a low layer (``qsession_provider.core.ir``) never
loads the runtime, the store or the plugins as a side effect of its parents.
"""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Callable, Mapping
from typing import Any

#: Names that were renamed: old name -> new name (read with a ``DeprecationWarning``).
RENAMED = {"Program": "Circuit"}


def lazy_exports(
    package: str, exports: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package`` serving ``exports``.

    A name of :data:`RENAMED` whose new name is exported still resolves, with a
    ``DeprecationWarning``.

    Args:
        package: the package's ``__name__``.
        exports: public name -> module (relative to ``package``, e.g. ``".ir"``) holding it.
    """

    def __getattr__(name: str) -> Any:
        if name in RENAMED and RENAMED[name] in exports:
            warnings.warn(
                f"{package}.{name} is now {RENAMED[name]}", DeprecationWarning, stacklevel=2
            )
            name = RENAMED[name]
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(module, package), name)

    def __dir__() -> list[str]:
        return sorted(exports)

    return __getattr__, __dir__
