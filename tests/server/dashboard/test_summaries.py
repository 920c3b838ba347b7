"""Payload and result summaries of the job page, from the stored encoded text."""

from __future__ import annotations

import numpy as np
import pytest

from qsession_provider.core.ir.encoding import dumps
from qsession_provider.server.dashboard.summaries import (
    counts_of,
    input_summary,
    result_summary,
)

from ..conftest import sampler_text
from .scenario import estimator_text


def test_outcomes_are_written_most_significant_bit_first() -> None:
    bits = np.array([[1, 0, 0], [1, 0, 0], [0, 1, 1]], dtype=np.uint8)  # bit 0 first
    assert counts_of({"c": bits}) == {"001": 2, "110": 1}


def test_registers_are_joined_last_register_first() -> None:
    a = np.array([[1], [0]], dtype=np.uint8)
    b = np.array([[0, 1], [1, 1]], dtype=np.uint8)
    assert counts_of({"a": a, "b": b}) == {"10 1": 1, "11 0": 1}


def test_counts_of_parameter_sets_are_added_up() -> None:
    bits = np.zeros((3, 4, 1), dtype=np.uint8)  # 3 parameter sets x 4 shots x 1 bit
    bits[0, :, 0] = 1
    assert counts_of({"c": bits}) == {"1": 4, "0": 8}


def test_input_summaries_name_pubs_qubits_and_shots() -> None:
    sampler = input_summary("sampler", sampler_text(100))
    assert sampler["qubits"] == 2 and sampler["shots"] == 100 and len(sampler["pubs"]) == 1
    assert sampler["pubs"][0]["shape"] == "scalar"
    estimator = input_summary("estimator", estimator_text())
    assert estimator["executions"] == 4 and estimator["pubs"][0]["observables"] == 2
    assert estimator["pubs"][0]["shape"] == "4×2"


def test_unreadable_text_is_reported_not_raised() -> None:
    assert "could not be read" in input_summary("sampler", "{not json")["error"]
    assert "could not be read" in result_summary("sampler", '{"pubs": 3}')["error"]
    assert result_summary("sampler", None) is None


def test_expectation_values_come_with_their_stds() -> None:
    text = dumps({"pubs": [{"evs": np.array([0.5, -0.25]), "stds": np.array([0.01, 0.02])}]})
    summary = result_summary("estimator", text)
    assert summary is not None
    ((label, rows, total),) = summary["evs"]
    assert label == "pub 0" and total == 2
    assert [(r["ev"], r["std"]) for r in rows] == [(0.5, 0.01), (-0.25, 0.02)]


def test_packed_bits_count_as_the_bits_they_hold() -> None:
    bits_module = pytest.importorskip("qsession_provider.core.ir.bits")
    bits = np.array([[1, 0, 0, 0, 0, 0, 0, 0, 1], [0] * 9, [1, 0, 0, 0, 0, 0, 0, 0, 1]])
    packed = bits_module.PackedBits.from_bits(bits.astype(np.uint8))
    assert counts_of({"c": packed}) == {"100000001": 2, "000000000": 1}


def test_many_shots_are_counted_by_outcome() -> None:
    rng = np.random.default_rng(3)
    bits = rng.integers(0, 2, size=(200_000, 3), dtype=np.uint8)
    counts = counts_of({"c": bits})
    assert len(counts) == 8 and sum(counts.values()) == 200_000
    assert counts["001"] == int(np.sum((bits[:, 0] == 1) & (bits[:, 1] == 0) & (bits[:, 2] == 0)))
