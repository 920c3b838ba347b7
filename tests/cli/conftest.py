"""Helpers for the ``qsession`` command tests: run it and capture what it printed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from qsession_provider.cli import main


@dataclass
class Run:
    """One run of ``qsession``: exit code, stdout, stderr."""

    code: int
    out: str
    err: str


@pytest.fixture
def qsession(capsys: pytest.CaptureFixture[str]) -> Callable[..., Run]:
    """``qsession(*argv)`` runs the command in this process (as the script does)."""

    def run(*argv: str) -> Run:
        capsys.readouterr()
        code = main(list(argv))
        captured = capsys.readouterr()
        return Run(code, captured.out, captured.err)

    return run
