"""The public surface: pinned ``__all__`` lists, and docs that name every hook."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

import qsession_provider
from qsession_provider.plugins import hookspecs

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def test_top_level_all_is_pinned() -> None:
    assert sorted(qsession_provider.__all__) == sorted(
        [
            "Barrier",
            "Gate",
            "Measure",
            "Parameter",
            "PauliSum",
            "PauliTerm",
            "Circuit",
            "QSessionError",
            "RealClock",
            "Reset",
            "Runtime",
            "VirtualClock",
            "__version__",
            "open_runtime",
        ]
    )


@pytest.mark.parametrize(
    "module",
    [
        "qsession_provider",
        "qsession_provider.core",
        "qsession_provider.sim",
        "qsession_provider.plugins",
        "qsession_provider.azure",
        "qsession_provider.qiskit",
        "qsession_provider.cirq",
    ],
)
def test_every_name_in_all_exists(module: str) -> None:
    if module.endswith((".qiskit", ".cirq")):
        pytest.importorskip(module.rsplit(".", 1)[1])
    mod = importlib.import_module(module)
    missing = [name for name in mod.__all__ if not hasattr(mod, name)]
    assert not missing, f"{module}.__all__ names missing attributes: {missing}"


def test_readme_documents_every_hook() -> None:
    hooks = [name for name in dir(hookspecs) if name.startswith("qsession_")]
    assert hooks
    undocumented = [h for h in hooks if h not in README]
    assert not undocumented, f"README.md does not mention hooks {undocumented}"


@pytest.mark.parametrize("module", ["qsession_provider", "qsession_provider.core"])
def test_the_old_name_of_circuit_still_resolves_with_a_warning(module: str) -> None:
    mod = importlib.import_module(module)
    with pytest.warns(DeprecationWarning, match="Program is now Circuit"):
        old = mod.Program
    assert old is mod.Circuit
    assert "Program" not in mod.__all__
