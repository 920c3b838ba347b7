"""Choosing the kernel module: the compiled C extension, or the numpy reference.

``QSESSION_KERNEL=reference`` selects the pure-numpy reference (slow, for debugging and
as the test oracle). If the C extension is missing, the reference is used with a warning
so a source checkout without a build still works.
"""

from __future__ import annotations

import os
import warnings
from types import ModuleType

__all__ = ["load_kernel", "KERNEL_ENV"]

#: Environment variable that selects the kernel: ``c`` (default) or ``reference``.
KERNEL_ENV = "QSESSION_KERNEL"


def load_kernel(name: str | None = None) -> ModuleType:
    """The kernel module named ``name`` (``"c"`` or ``"reference"``), default from the env var.

    Raises:
        ValueError: an unknown kernel name.
    """
    choice = (name or os.environ.get(KERNEL_ENV) or "c").lower()
    # Imported on demand: the C extension may be missing (source checkout without a build),
    # and the reference is only for debugging and tests.
    if choice == "reference":
        from . import _reference

        return _reference
    if choice != "c":
        raise ValueError(f"unknown kernel {choice!r}; choose 'c' or 'reference' ({KERNEL_ENV})")
    try:
        from . import _kernel
    except ImportError as exc:  # pragma: no cover - only without a build
        warnings.warn(
            f"the C kernel qsession_provider.sim._kernel is not built ({exc}); using the slow "
            "numpy reference. Reinstall the package (pip install .) to build it.",
            RuntimeWarning,
            stacklevel=2,
        )
        from . import _reference

        return _reference
    return _kernel
