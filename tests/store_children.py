"""Child processes for the stores' multi-process tests (SQLite and PostgreSQL alike).

A child runs a script after a prelude that defines two device functions (``echo`` answers
with ``n`` and its square, ``hang`` sleeps) and imports the runtime and the store class
under test; it prints its answer as JSON on its last line.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np

import qsession_provider
from qsession_provider.core.device import Device

__all__ = ["child_prelude", "echo_device", "run_child"]

ROOT = str(Path(qsession_provider.__file__).resolve().parent.parent)

_PRELUDE = """
import json, sys, time
import numpy as np
from qsession_provider.core.device import Device
from qsession_provider.core.runtime.runtime import Runtime
from qsession_provider.core.store.processes import ProcessRecord
{store_import}

def echo(program_id, payload):
    return {{"n": payload["n"], "square": np.array([payload["n"] ** 2], dtype=np.int64)}}

def hang(program_id, payload):
    time.sleep(120)
    return {{}}
"""


def child_prelude(store_import: str) -> str:
    """The prelude of a child that imports its store with ``store_import``."""
    return _PRELUDE.format(store_import=store_import)


def run_child(prelude: str, script: str, *args: str, wait: bool = True) -> Any:
    """Run ``script`` after ``prelude`` in a new interpreter; its last line's JSON (or, with
    ``wait=False``, the running ``Popen``)."""
    code = prelude + textwrap.dedent(script)
    env = {**os.environ, "PYTHONPATH": ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")}
    if not wait:
        return subprocess.Popen(
            [sys.executable, "-c", code, *args],
            env=env,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
    done = subprocess.run(
        [sys.executable, "-c", code, *args], env=env, text=True, capture_output=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def echo_device() -> Device:
    """A simulator device whose ``echo`` program answers with arrays, a complex and names."""
    return Device(
        "echo",
        2,
        lambda program, payload: {
            "arr": np.arange(5, dtype=np.int16) * payload["k"],
            "c": complex(payload["k"], -1),
            "names": ["a", "b"],
        },
        programs={"echo"},
        simulator=True,
    )
