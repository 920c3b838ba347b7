"""Dependencies point inward: each layer is imported in a fresh interpreter and checked."""

from __future__ import annotations

import subprocess
import sys

import pytest

FRAMEWORKS = ("qiskit", "qiskit_ibm_runtime", "cirq", "sympy")


def _loaded_after(statement: str) -> set[str]:
    code = (
        f"import sys\n{statement}\n"
        "print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return set(out.stdout.split())


@pytest.mark.parametrize(
    ("module", "forbidden"),
    [
        ("qsession_provider", FRAMEWORKS),
        ("qsession_provider.core", (*FRAMEWORKS, "pluggy")),
        ("qsession_provider.sim", (*FRAMEWORKS, "pluggy")),
        ("qsession_provider.qiskit", ("cirq",)),
        ("qsession_provider.cirq", ("qiskit", "qiskit_ibm_runtime")),
    ],
)
def test_layer_does_not_import(module: str, forbidden: tuple[str, ...]) -> None:
    if module.endswith(".qiskit"):
        pytest.importorskip("qiskit")
    if module.endswith(".cirq"):
        pytest.importorskip("cirq")
    loaded = _loaded_after(f"import {module}")
    assert not loaded.intersection(forbidden), f"{module} imported {loaded & set(forbidden)}"


def test_core_modules_do_not_import_sim() -> None:
    loaded = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, qsession_provider.core; print(any(m.startswith('qsession_provider.sim')"
            " for m in sys.modules))",
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    assert loaded == "False"


@pytest.mark.parametrize(
    ("face", "framework", "extra"), [("qiskit", "qiskit", "qiskit"), ("cirq", "cirq", "cirq")]
)
def test_face_without_its_framework_names_the_extra(face: str, framework: str, extra: str) -> None:
    code = (
        f"import sys; sys.modules[{framework!r}] = None\n"
        "try:\n"
        f"    import qsession_provider.{face}\n"
        "except ImportError as exc:\n"
        "    print(exc)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    assert f"pip install 'qsession-provider[{extra}]'" in out.stdout
