"""Dependencies point inward: each layer is imported in a fresh interpreter and checked.

Every module of a layer is imported (all at once, in a new interpreter) and the modules
that import brought into ``sys.modules`` are compared with what the layer may load: the
table in ARCHITECTURE.md. Grepping would miss lazy imports taken at import time and
imports through a parent package; ``sys.modules`` does not.
"""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import qsession_provider

PKG = "qsession_provider"
ROOT = Path(qsession_provider.__file__).parent
FRAMEWORKS = ("qiskit", "qiskit_ibm_runtime", "qiskit_aer", "cirq", "sympy")
SERVICES = ("pluggy", "httpx", "fastapi", "starlette", "uvicorn")
#: The PostgreSQL driver: loaded only when a PostgreSQL store is opened, never on import.
DRIVERS = ("psycopg", "psycopg_pool")
#: Dask: loaded only when a DaskExecutor is created (or inside a Dask worker), never on import.
DASK = ("dask", "distributed")

#: The IBM API's qiskit-dependent modules, imported on the first request that needs them.
IBM_CODEC = (f"{PKG}.server.ibm.codec", f"{PKG}.server.ibm.program_results")

#: Modules every layer may load: the package roots (lazy) and the shared helpers.
BASE = (PKG, f"{PKG}._lazy", f"{PKG}.errors")
CORE_IR = (f"{PKG}.core", f"{PKG}.core.ir")
CORE = (f"{PKG}.core",)


def _modules(package: str, *, skip: tuple[str, ...] = ()) -> list[str]:
    """``package`` and every module below it (without importing them)."""
    path = ROOT.joinpath(*package.split(".")[1:])
    names = [package]
    if path.is_dir():
        prefix = package + "."
        names += [m.name for m in pkgutil.walk_packages([str(path)], prefix)]
    return [n for n in names if not any(n == s or n.startswith(s + ".") for s in skip)]


def _loaded_after(modules: list[str]) -> tuple[set[str], set[str]]:
    """(qsession_provider modules, other top-level packages) loaded by importing ``modules``."""
    code = (
        "import importlib, json, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "print(json.dumps(sorted(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    loaded = json.loads(out.stdout)
    ours = {m for m in loaded if m == PKG or m.startswith(PKG + ".")}
    others = {m.split(".")[0] for m in loaded} - {PKG}
    return ours, others


def _outside(loaded: set[str], allowed: tuple[str, ...]) -> set[str]:
    """What of ``loaded`` no entry of ``allowed`` covers (an entry covers itself and the
    modules below it; the package root ``PKG`` covers only itself)."""
    return {
        m
        for m in loaded
        if not any(m == a or (a != PKG and m.startswith(a + ".")) for a in allowed)
    }


# layer, modules imported, our modules it may load, third-party packages it must not load
LAYERS = [
    ("errors", [f"{PKG}.errors"], BASE, (*FRAMEWORKS, *SERVICES, "numpy")),
    ("top level", [PKG], (PKG, f"{PKG}._lazy"), (*FRAMEWORKS, *SERVICES, "numpy")),
    (
        "client entry",
        [f"{PKG}.client"],
        (*BASE, f"{PKG}.core", f"{PKG}.sim", f"{PKG}.plugins", f"{PKG}.client"),
        (*FRAMEWORKS, "httpx", "starlette", "uvicorn"),
    ),
    ("core.ir", _modules(f"{PKG}.core.ir"), (*BASE, *CORE_IR), (*FRAMEWORKS, *SERVICES)),
    (
        "core.clock",
        _modules(f"{PKG}.core.clock"),
        (*BASE, *CORE, f"{PKG}.core.clock"),
        (*FRAMEWORKS, *SERVICES),
    ),
    (
        "core",
        _modules(f"{PKG}.core"),
        (*BASE, f"{PKG}.core"),
        (*FRAMEWORKS, *SERVICES, *DRIVERS, *DASK),
    ),
    (
        "sim",
        _modules(f"{PKG}.sim"),
        (*BASE, *CORE_IR, f"{PKG}.sim"),
        (*FRAMEWORKS, *SERVICES, "stim"),
    ),
    (
        "plugins",
        _modules(f"{PKG}.plugins"),
        (*BASE, f"{PKG}.core", f"{PKG}.sim", f"{PKG}.plugins"),
        (*FRAMEWORKS, *DASK),
    ),
    (
        "client",
        _modules(f"{PKG}.client"),
        (*BASE, f"{PKG}.core", f"{PKG}.sim", f"{PKG}.plugins", f"{PKG}.client"),
        (*FRAMEWORKS, "starlette", "uvicorn"),
    ),
    (
        "faults",
        _modules(f"{PKG}.faults"),
        (*BASE, f"{PKG}.core", f"{PKG}.faults"),
        (*FRAMEWORKS, *SERVICES),
    ),
    (
        "forecast",
        _modules(f"{PKG}.forecast"),
        (
            *BASE,
            f"{PKG}.core",
            f"{PKG}.sim",
            f"{PKG}.plugins",
            f"{PKG}.client",
            f"{PKG}.faults",
            f"{PKG}.forecast",
        ),
        (*FRAMEWORKS, "starlette", "uvicorn"),
    ),
    (
        # pytest loads the plugin in every run: its import loads nothing of ours (pytest
        # brings pluggy)
        "pytest plugin",
        [f"{PKG}.pytest_plugin"],
        (*BASE, f"{PKG}.pytest_plugin"),
        (*FRAMEWORKS, "httpx", "starlette", "uvicorn", "numpy"),
    ),
    (
        "visual",
        _modules(f"{PKG}.visual"),
        (*BASE, f"{PKG}.core", f"{PKG}.sim", f"{PKG}.plugins", f"{PKG}.client", f"{PKG}.visual"),
        (*FRAMEWORKS, "starlette", "uvicorn"),
    ),
    (
        # The server, the IBM platform API's routes included: never a face or a framework.
        "server",
        _modules(f"{PKG}.server", skip=IBM_CODEC),
        (*BASE, f"{PKG}.core", f"{PKG}.sim", f"{PKG}.plugins", f"{PKG}.client", f"{PKG}.server"),
        FRAMEWORKS,
    ),
    (
        # The IBM API's codec, imported on the first job submitted or result read through
        # it: qiskit-ibm-runtime's own decoders (QPY inside) and the Qiskit face's rules
        # for its inputs and results, so both doors give one result. Never cirq.
        "server.ibm.codec",
        list(IBM_CODEC),
        (
            *BASE,
            f"{PKG}._optional",
            f"{PKG}.core",
            f"{PKG}.sim",
            f"{PKG}.plugins",
            f"{PKG}.client",
            f"{PKG}.server",
            f"{PKG}.translate",
            f"{PKG}.qiskit",
        ),
        ("cirq",),
    ),
]

# translators (package, the library it reads with, what it must not load): the IR, errors
# and their own framework or format library only
TRANSLATORS = [
    ("qiskit", "qiskit", ("cirq",)),
    ("cirq", "cirq", ("qiskit", "qiskit_ibm_runtime")),
    ("qir", "pyqir", ("qiskit", "qiskit_ibm_runtime", "cirq", "quil")),
    ("quil", "quil", ("qiskit", "qiskit_ibm_runtime", "cirq", "pyqir")),
]

# faces: never another face, never another face's translator
FACES = {
    "qiskit": (("cirq",), (f"{PKG}.azure", f"{PKG}.cirq", f"{PKG}.translate.cirq")),
    "cirq": (
        ("qiskit", "qiskit_ibm_runtime"),
        (f"{PKG}.azure", f"{PKG}.qiskit", f"{PKG}.translate.qiskit"),
    ),
    "azure": (
        ("qiskit", "qiskit_ibm_runtime", "cirq"),
        (f"{PKG}.qiskit", f"{PKG}.cirq", f"{PKG}.translate"),
    ),
}


@pytest.mark.parametrize(
    ("layer", "modules", "allowed", "forbidden"), LAYERS, ids=[x[0] for x in LAYERS]
)
def test_layer_loads_only_inner_layers(
    layer: str, modules: list[str], allowed: tuple[str, ...], forbidden: tuple[str, ...]
) -> None:
    ours, others = _loaded_after(modules)
    assert not _outside(ours, allowed), f"{layer} loaded {sorted(_outside(ours, allowed))}"
    assert not others & set(forbidden), f"{layer} loaded {sorted(others & set(forbidden))}"


@pytest.mark.parametrize(
    ("name", "library", "forbidden"), TRANSLATORS, ids=[t[0] for t in TRANSLATORS]
)
def test_translator_loads_the_ir_and_its_framework_only(
    name: str, library: str, forbidden: tuple[str, ...]
) -> None:
    pytest.importorskip(library)
    package = f"{PKG}.translate.{name}"
    allowed = (*BASE, *CORE_IR, f"{PKG}._optional", f"{PKG}.translate", package)
    ours, others = _loaded_after(_modules(package))
    assert not _outside(ours, allowed), f"{package} loaded {sorted(_outside(ours, allowed))}"
    assert not others & {*forbidden, *SERVICES}, f"{package} loaded {others & set(forbidden)}"


@pytest.mark.parametrize("face", sorted(FACES))
def test_face_loads_no_other_face(face: str) -> None:
    frameworks, faces = FACES[face]
    if face != "azure":
        pytest.importorskip(face)
    package = f"{PKG}.{face}"
    modules = _modules(package, skip=(f"{PKG}.azure.qiskit_backend",))
    ours, others = _loaded_after(modules)
    leaked = {m for m in ours if any(m == f or m.startswith(f + ".") for f in faces)}
    assert not leaked, f"{package} loaded {sorted(leaked)}"
    assert not others & set(frameworks), f"{package} loaded {sorted(others & set(frameworks))}"


def test_qiskit_backend_loads_the_azure_host_only_on_demand() -> None:
    """``backend.run`` stays within the Qiskit face; ``backend.open_session`` loads the edge."""
    pytest.importorskip("qiskit")
    code = (
        "import sys\n"
        "from qiskit import QuantumCircuit\n"
        "from qsession_provider.qiskit import QiskitRuntimeService\n"
        "backend = QiskitRuntimeService(store=':memory:').backend('statevector')\n"
        "qc = QuantumCircuit(1); qc.x(0); qc.measure_all()\n"
        "backend.run(qc, shots=4).result()\n"
        "before = sorted(m for m in sys.modules if m.startswith('qsession_provider.azure'))\n"
        "with backend.open_session(name='s'):\n"
        "    backend.run(qc, shots=4).result()\n"
        "after = 'qsession_provider.azure.qiskit_backend' in sys.modules\n"
        "print(before, after)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    assert out.stdout.split() == ["[]", "True"]


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
