"""The Cirq face's modules depend one way: results, payloads, job, session, host, sampler,
target, service; no module imports one above it, not even inside a function."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

pytest.importorskip("cirq")

import qsession_provider.cirq as face  # noqa: E402
import qsession_provider.translate.cirq as translator  # noqa: E402

FACE = Path(face.__file__).parent
ORDER = [
    "_results",
    "_payloads",
    "_waiting",
    "job",
    "session",
    "host",
    "sampler",
    "target",
    "service",
]


def test_every_module_has_a_place_in_the_order() -> None:
    assert sorted(p.stem for p in FACE.glob("*.py") if p.stem != "__init__") == sorted(ORDER)


@pytest.mark.parametrize("module", ORDER)
def test_a_module_imports_only_modules_below_it(module: str) -> None:
    tree = ast.parse((FACE / f"{module}.py").read_text(encoding="utf-8"))
    siblings = {
        node.module or alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.level == 1
        for alias in node.names
    }
    above = siblings - set(ORDER[: ORDER.index(module)])
    assert not above, f"{module} imports {sorted(above)}, which are not below it"


def test_the_face_reexports_the_translator() -> None:
    assert face.circuit_to_ir is translator.circuit_to_ir
    assert face.pauli_sum_to_sum is translator.pauli_sum_to_sum
    assert face.resolver_values is translator.resolver_values
