"""Without dask distributed installed, a DaskExecutor says which extra to install."""

from __future__ import annotations

import sys

import pytest

from qsession_provider.core.runtime import DaskExecutor
from qsession_provider.errors import QSessionError


def test_a_dask_executor_without_dask_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed fails
    with pytest.raises(QSessionError, match=r"pip install 'qsession-provider\[dask\]'"):
        DaskExecutor("tcp://127.0.0.1:8786")
