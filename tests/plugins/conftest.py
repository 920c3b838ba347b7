"""Plugin-test fixtures: load the fake plugins in ``fake_plugins/`` by file path."""

from __future__ import annotations

import importlib.util
import itertools
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest

FAKE_PLUGINS = Path(__file__).parent / "fake_plugins"
_counter = itertools.count()


@pytest.fixture
def load_fake_plugin() -> Callable[[str], ModuleType]:
    """``load_fake_plugin("recorder")`` imports ``fake_plugins/recorder.py`` afresh."""

    def load(name: str) -> ModuleType:
        path = FAKE_PLUGINS / f"{name}.py"
        spec = importlib.util.spec_from_file_location(f"_fake_plugin_{name}_{next(_counter)}", path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    return load
