"""``input_data`` -> the neutral ``run`` payload, and the ``shots`` rule.

Accepted ``input_data``: OpenQASM 2 text (``OPENQASM 2.0;`` header, read with
``qiskit.qasm2``), OpenQASM 3 text (``qiskit.qasm3``, which needs
``qiskit_qasm3_import``), QIR (what ``qsharp.compile(...)`` returns, or LLVM bitcode or
text: read with pyqir), Quil text or a pyQuil ``Program`` (read with ``quil``), a Qiskit
``QuantumCircuit``, a Cirq ``Circuit``, or a
:class:`~qsession_provider.core.ir.circuit.Circuit`. Framework circuits go through the
translators (:mod:`qsession_provider.translate`), never through the Qiskit or Cirq faces;
a framework and its translator are imported only when such an input arrives. Anything
else - or a circuit that cannot run on the target - raises :class:`InvalidInputData`,
which the workspace turns into a job that fails with ``error_data`` code
``InvalidInputData``: the service accepts the job and its execution fails, as on Azure.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import re
import warnings
from collections.abc import Mapping
from types import ModuleType
from typing import Any

from .._optional import require
from ..core.device import Device
from ..core.ir.circuit import Circuit
from ..core.ir.payload import RunPayload, check_seed
from ..errors import InputError

__all__ = [
    "DEFAULT_SHOTS",
    "SHOTS_PARAM",
    "InvalidInputData",
    "resolve_shots",
    "to_circuit",
    "run_payload",
    "placeholder_payload",
]

#: Shots of a job submitted without ``shots`` (azure's usual target default).
DEFAULT_SHOTS = 500
#: The ``input_params`` key that holds the shot count.
SHOTS_PARAM = "shots"
#: Optional ``input_params`` key: seed of the simulator's sampling (not an Azure field).
SEED_PARAM = "seed"

_TRANSLATE = "qsession_provider.translate"
_HEADER = re.compile(r"^\s*OPENQASM\s+(\d+)(?:\.\d+)?\s*;", re.MULTILINE)
_COMMENTS = re.compile(r"//[^\n]*|/\*.*?\*/", re.DOTALL)


class InvalidInputData(Exception):
    """``input_data`` cannot run: the job is created and fails with this error."""

    code = "InvalidInputData"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def resolve_shots(shots: int | None, input_params: Mapping[str, Any] | None) -> dict[str, Any]:
    """``input_params`` with the final shot count under ``"shots"``.

    ``shots`` wins over ``input_params["shots"]``, with azure's warning when both are given;
    neither gives :data:`DEFAULT_SHOTS`.
    """
    params = dict(input_params or {})
    given = params.get(SHOTS_PARAM)
    if shots is not None and given is not None:
        warnings.warn(
            f"Parameter 'shots' conflicts with the '{SHOTS_PARAM}' field of the 'input_params' "
            "parameter. Please, provide only one option for setting shots. Defaulting to "
            "'shots' parameter.",
            stacklevel=3,
        )
    if shots is not None:
        params[SHOTS_PARAM] = shots
    elif given is None:
        params[SHOTS_PARAM] = DEFAULT_SHOTS
    return params


def _preview(text: str) -> str:
    flat = " ".join(text.split())
    return repr(flat if len(flat) <= 40 else flat[:37] + "...")


def _from_qasm(text: str) -> Circuit:
    match = _HEADER.search(_COMMENTS.sub("", text))
    if match is None:
        raise InvalidInputData(
            f"input_data {_preview(text)} is not a circuit: text input must be OpenQASM 2 or "
            "3 starting with an 'OPENQASM 2.0;' or 'OPENQASM 3.0;' header"
        )
    version = match.group(1)
    if version not in ("2", "3"):
        raise InvalidInputData(f"OpenQASM version {version} is not supported (only 2 and 3)")
    if version == "3" and importlib.util.find_spec("qiskit_qasm3_import") is None:
        raise ImportError(
            "OpenQASM 3 input_data needs the optional dependency 'qiskit_qasm3_import', "
            "which is not installed. Install it with: pip install qiskit-qasm3-import"
        )
    loader = require(f"qiskit.qasm{version}", "qiskit", f"OpenQASM {version} input_data")
    # The OpenQASM 3 parser reports syntax errors on stderr; they belong in the job's error.
    diagnostics = io.StringIO()
    try:
        with contextlib.redirect_stderr(diagnostics):
            if version == "2":
                circuit = loader.loads(text, custom_instructions=loader.LEGACY_CUSTOM_INSTRUCTIONS)
            else:
                circuit = loader.loads(text)
    except Exception as exc:
        detail = "; ".join(
            part for part in (str(exc).strip(), diagnostics.getvalue().strip()) if part
        )
        raise InvalidInputData(
            f"input_data is not valid OpenQASM {version}: {detail or type(exc).__name__}"
        ) from None
    return _from_qiskit(circuit)


def _translator(framework: str, what: str) -> ModuleType:
    """``qsession_provider.translate.<framework>``, imported on first use of that input kind.

    The frameworks are optional extras and this face must load neither at import, so the
    translator is imported here, behind a check that names the extra to install.
    """
    require(framework, framework, what)
    return require(f"{_TRANSLATE}.{framework}", framework, what)


def _from_qiskit(circuit: Any) -> Circuit:
    translate = _translator("qiskit", "Qiskit input_data")
    try:
        return translate.circuit_to_ir(circuit)  # type: ignore[no-any-return]
    except ImportError:
        raise
    except Exception as exc:
        raise InvalidInputData(f"the Qiskit circuit cannot be run: {exc}") from None


def _from_cirq(circuit: Any) -> Circuit:
    translate = _translator("cirq", "Cirq input_data")
    try:
        ir_circuit, _qubits = translate.circuit_to_ir(circuit)
    except ImportError:
        raise
    except Exception as exc:
        raise InvalidInputData(f"the Cirq circuit cannot be run: {exc}") from None
    return ir_circuit  # type: ignore[no-any-return]


def _framework_class(obj: Any, package: str, names: tuple[str, ...]) -> bool:
    """True if ``obj`` is an instance of one of ``package``'s classes ``names`` (no import)."""
    return any(
        cls.__module__.split(".")[0] == package and cls.__name__ in names
        for cls in type(obj).__mro__
    )


#: Bitcode files begin with these bytes.
_BITCODE = b"BC\xc0\xde"
#: QIR text: LLVM assembly (a function defined or declared, a module header) or calls of
#: the QIR runtime's functions.
_QIR_TEXT = re.compile(
    r"@__quantum__(qis|rt)__|^\s*(define|declare)\s|^\s*; ModuleID|^\s*source_filename\s*=",
    re.MULTILINE,
)


def _from_qir(program: bytes | str) -> Circuit:
    translate = require(f"{_TRANSLATE}.qir", "azure", "QIR input_data")
    try:
        return translate.qir_to_ir(program)  # type: ignore[no-any-return]
    except InputError as exc:
        raise InvalidInputData(str(exc)) from None


def _from_quil(text: str) -> Circuit:
    translate = require(f"{_TRANSLATE}.quil", "azure", "Quil input_data")
    try:
        return translate.quil_to_ir(text)  # type: ignore[no-any-return]
    except InputError as exc:
        raise InvalidInputData(str(exc)) from None


def _from_text(text: str) -> Circuit:
    """OpenQASM (by its header), QIR text (by its runtime calls), else Quil."""
    if _HEADER.search(_COMMENTS.sub("", text)) is not None:
        return _from_qasm(text)
    if _QIR_TEXT.search(text):
        return _from_qir(text)
    if importlib.util.find_spec("quil") is not None:
        try:
            return _from_quil(text)
        except InvalidInputData as exc:
            raise InvalidInputData(
                f"input_data {_preview(text)} is not a circuit: text input must be OpenQASM 2 "
                "or 3 (with its 'OPENQASM' header), QIR or Quil; as Quil: "
                f"{exc.message.removeprefix('input_data ')}"
            ) from None
    return _from_qasm(text)  # names the OpenQASM header it lacks


def to_circuit(input_data: Any) -> Circuit:
    """The IR circuit of ``input_data``.

    Raises:
        InvalidInputData: the input is not a circuit, or cannot be translated.
        ImportError: the framework needed for this input is missing (names the extra).
    """
    if isinstance(input_data, Circuit):
        return input_data
    if hasattr(input_data, "_repr_qir_"):  # qsharp.compile(...): QIR for the target
        return _from_qir(input_data._repr_qir_())
    if isinstance(input_data, (bytes, bytearray)):
        if bytes(input_data[:4]) == _BITCODE:
            return _from_qir(bytes(input_data))
        try:
            input_data = bytes(input_data).decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidInputData(
                "input_data bytes are neither QIR bitcode nor UTF-8 program text"
            ) from None
    if isinstance(input_data, str):
        return _from_text(input_data)
    if _framework_class(input_data, "pyquil", ("Program",)):
        return _from_quil(str(input_data))
    if _framework_class(input_data, "qiskit", ("QuantumCircuit",)):
        return _from_qiskit(input_data)
    if _framework_class(input_data, "cirq", ("AbstractCircuit",)):
        return _from_cirq(input_data)
    raise InvalidInputData(
        f"unsupported input_data of type {type(input_data).__name__}: expected OpenQASM 2 or "
        "3 text, QIR (qsharp.compile output, bitcode or text), Quil text or a pyQuil Program, "
        "a qiskit QuantumCircuit, a cirq Circuit or a qsession_provider Circuit"
    )


def run_payload(input_data: Any, input_params: Mapping[str, Any], device: Device) -> RunPayload:
    """The ``run`` payload of one circuit, checked against ``device``.

    Raises:
        InvalidInputData: bad input, shots or seed, or a circuit the device cannot run.
        ImportError: see :func:`to_circuit`.
    """
    circuit = to_circuit(input_data)
    try:
        seed = check_seed(input_params.get(SEED_PARAM), "input_params['seed']")
    except InputError as exc:
        raise InvalidInputData(str(exc)) from None
    try:
        payload = RunPayload(
            (circuit,),
            shots=input_params.get(SHOTS_PARAM, DEFAULT_SHOTS),
            seed=seed,
        )
        device.validate("run", payload)
    except InputError as exc:
        raise InvalidInputData(str(exc)) from None
    return payload


def placeholder_payload() -> RunPayload:
    """What is stored as the payload of a job whose input could not be read (it never runs)."""
    return RunPayload((Circuit(0, name="invalid input_data"),), shots=1)
