"""``loads(text, interner=...)``: the same circuits and Pauli sums for the same text, the
same value as the plain decoding always, bounded, and the plain way whenever in doubt."""

from __future__ import annotations

import json
import threading
from typing import Any

import numpy as np
import pytest

from qsession_provider.core import Circuit, Gate, Measure, Parameter, PauliSum, PauliTerm
from qsession_provider.core.ir.encoding import Interner, dumps, loads
from qsession_provider.core.ir.payload import (
    EstimatorPayload,
    EstimatorPub,
    RunPayload,
    SamplerPayload,
    SamplerPub,
)
from qsession_provider.core.runtime.checks import decode_payload, encode
from qsession_provider.errors import StoreError


def ansatz(name: str = "ansatz", qubits: int = 3) -> Circuit:
    theta = [Parameter(f"t{k}") for k in range(qubits)]
    ops: list[Any] = [Gate("ry", (q,), (theta[q],)) for q in range(qubits)]
    ops += [Gate("x", (q + 1,), controls=(q,)) for q in range(qubits - 1)]
    return Circuit(qubits, ops, name=name, metadata={"layer": 1})


def bell() -> Circuit:
    return Circuit(
        2,
        [Gate("h", (0,)), Gate("x", (1,), controls=(0,)), Measure(0, "c", 0), Measure(1, "c", 1)],
        {"c": 2},
        name="bell",
    )


def hamiltonian(scale: float = 1.0) -> PauliSum:
    return PauliSum([PauliTerm("ZZ", (0, 1), scale), PauliTerm("XX", (1, 2), 0.5)])


def estimator_text(values: Any = (0.1, 0.2, 0.3), observable: PauliSum | None = None) -> str:
    obs = observable if observable is not None else hamiltonian()
    pub = EstimatorPub(ansatz(), np.array(values), obs, 0.0)
    return encode(EstimatorPayload((pub,)), "payload")


def same_value(a: Any, b: Any) -> None:
    """``a`` and ``b`` decode to equal values (circuits and sums compared by their text)."""
    assert dumps(a) == dumps(b)


# -- sharing ------------------------------------------------------------------------------------
def test_the_same_text_gives_the_same_objects_and_other_text_new_ones() -> None:
    interner = Interner()
    first = decode_payload("estimator", estimator_text(), interner)
    again = decode_payload("estimator", estimator_text((0.4, 0.5, 0.6)), interner)
    assert again.pubs[0].circuit is first.pubs[0].circuit
    assert again.pubs[0].observables[()] is first.pubs[0].observables[()]
    np.testing.assert_array_equal(again.pubs[0].values, [0.4, 0.5, 0.6])  # values are not shared
    other = decode_payload("estimator", estimator_text(observable=hamiltonian(2.0)), interner)
    assert other.pubs[0].circuit is first.pubs[0].circuit
    assert other.pubs[0].observables[()] is not first.pubs[0].observables[()]
    assert other.pubs[0].observables[()].terms[0].coeff == 2.0
    renamed = SamplerPayload((SamplerPub(ansatz("other"), [0.1, 0.2, 0.3], 10),))
    third = decode_payload("sampler", encode(renamed, "payload"), interner)
    assert third.pubs[0].circuit is not first.pubs[0].circuit
    assert third.pubs[0].circuit.name == "other"
    assert interner.hits == 3 and interner.misses == 4 and len(interner) == 4


def test_without_an_interner_every_decoding_builds_new_objects() -> None:
    text = estimator_text()
    a, b = decode_payload("estimator", text), decode_payload("estimator", text)
    assert a.pubs[0].circuit is not b.pubs[0].circuit


@pytest.mark.parametrize(
    "value",
    [
        SamplerPayload((SamplerPub(bell(), None, 16), SamplerPub(bell(), None, 8)), seed=3),
        RunPayload((bell(), bell()), shots=5, options={"memory_slots": 2}),
        EstimatorPayload(
            (
                EstimatorPub(
                    ansatz(),
                    np.zeros((2, 3)),
                    np.array([hamiltonian(), hamiltonian(3.0)], dtype=object),
                    0.1,
                ),
            ),
            seed=5,
        ),
        {"circuits": (bell(), [bell(), {"nested": ansatz()}]), "n": 1},
        {"plain": [1, 2.5, "x", None, True], "nd": np.arange(6).reshape(2, 3)},
    ],
    ids=["sampler", "run", "estimator-objarr", "nested", "no-objects"],
)
def test_the_value_is_what_the_plain_decoding_gives(value: Any) -> None:
    text = encode(value, "payload") if hasattr(value, "to_json") else dumps(value)
    interner = Interner()
    for _ in range(2):  # a miss, then a hit
        same_value(loads(text, interner=interner), loads(text))


# -- the plain way whenever in doubt ---------------------------------------------------------------
@pytest.mark.parametrize(
    "value",
    [
        # A user's dict whose one key is a tag, holding a circuit, or a circuit document.
        {"__program__": bell()},
        {"meta": {"__program__": bell().to_json()}},
        {"meta": {"__paulisum__": hamiltonian().to_json()}},
        # The stand-in's own key in user data.
        {"__interned__": 0, "c": bell()},
        [{"__interned__": 0}, bell()],
        # Circuit metadata that looks like a tagged Pauli sum.
        Circuit(1, name="m", metadata={"x": {"__paulisum__": [["Z", [0], [1.0, 0.0]]]}}),
    ],
    ids=["dict-of-circuit", "dict-of-doc", "dict-of-sum-doc", "stand-in", "stand-in-list", "meta"],
)
def test_tag_lookalikes_in_user_data_decode_as_the_plain_way_does(value: Any) -> None:
    text = dumps(value)
    interner = Interner()
    for _ in range(2):
        same_value(loads(text, interner=interner), loads(text))


def test_text_written_with_other_separators_is_decoded_the_plain_way() -> None:
    data = json.loads(estimator_text())
    spaced = json.dumps(data)  # ", " and ": ", as json.dumps writes by default
    interner = Interner()
    a, b = loads(spaced, interner=interner), loads(spaced, interner=interner)
    same_value(a, loads(spaced))
    assert a["pubs"][0]["program"] is b["pubs"][0]["program"]  # '{"__program__":' still found
    compact_keys = spaced.replace('{"__program__": ', '{ "__program__": ')
    c, d = loads(compact_keys, interner=interner), loads(compact_keys, interner=interner)
    assert c["pubs"][0]["program"] is not d["pubs"][0]["program"]  # not found: plain
    same_value(c, loads(spaced))


@pytest.mark.parametrize(
    "text",
    [
        '{"a": {"__program__": {"num_qubits": 1}}}',  # a malformed circuit
        '{"a": {"__program__": {"num_qubits": 1, "operations": [}}}',  # not JSON
        '["x{"__paulisum__":[]}"]',  # an opening inside a string: invalid JSON
        '{"__nd__": ["<f8", [1], {"__program__": ' + json.dumps(bell().to_json()) + "}]}",
    ],
)
def test_bad_text_fails_exactly_as_the_plain_decoding(text: str) -> None:
    with pytest.raises(Exception) as plain:
        loads(text)
    with pytest.raises(type(plain.value)) as interned:
        loads(text, interner=Interner())
    assert str(interned.value) == str(plain.value)


def test_bytes_are_decoded_the_plain_way() -> None:
    text = estimator_text()
    interner = Interner()
    same_value(loads(text.encode(), interner=interner), loads(text))
    assert len(interner) == 0
    with pytest.raises(StoreError):
        loads(b"{", interner=interner)


# -- bounded ---------------------------------------------------------------------------------------
def test_the_interner_keeps_at_most_size_objects_least_recently_used_first_out() -> None:
    interner = Interner(size=3)
    texts = [dumps(Circuit(2, [Gate("rx", (0,), (0.1 * k,))], name=f"c{k}")) for k in range(5)]
    objects = [loads(t, interner=interner) for t in texts[:3]]
    assert loads(texts[0], interner=interner) is objects[0]  # c0 is now the most recent
    loads(texts[3], interner=interner)  # c1, the least recently used, goes
    assert len(interner) == 3
    assert loads(texts[1], interner=interner) is not objects[1]
    assert loads(texts[0], interner=interner) is objects[0]
    interner.clear()
    assert len(interner) == 0 and interner.chars == 0
    assert loads(texts[0], interner=interner) is not objects[0]


def test_the_interner_keeps_at_most_max_chars_of_text() -> None:
    interner = Interner(max_chars=4000)
    big = Circuit(3, [Gate("rx", (k % 3,), (0.001 * k,)) for k in range(60)])
    assert len(dumps(big)) > 1000  # over a quarter of max_chars: decoded, never kept
    assert loads(dumps(big), interner=interner) is not loads(dumps(big), interner=interner)
    assert len(interner) == 0
    small = [dumps(Circuit(2, [Gate("rx", (0,), (0.1 * k,))])) for k in range(40)]
    for text in small:
        loads(text, interner=interner)
    assert 0 < interner.chars <= 4000 and len(interner) < 40


def test_short_objects_are_decoded_but_not_kept() -> None:
    interner = Interner()
    tiny = PauliSum([])  # the zero operator
    text = dumps({"a": tiny, "b": tiny})
    assert len(dumps(tiny)) < Interner.PREFIX
    same_value(loads(text, interner=interner), loads(text))
    assert len(interner) == 0


def test_bad_sizes_are_refused() -> None:
    for bad in (0, -1, True, 1.5):
        with pytest.raises(ValueError):
            Interner(size=bad)  # type: ignore[arg-type]
        with pytest.raises(ValueError):
            Interner(max_chars=bad)  # type: ignore[arg-type]


def test_threads_share_one_interner() -> None:
    interner = Interner(size=4)
    texts = [estimator_text(observable=hamiltonian(1.0 + k)) for k in range(6)]
    errors: list[BaseException] = []

    def work(seed: int) -> None:
        try:
            for k in range(60):
                text = texts[(seed + k) % len(texts)]
                same_value(loads(text, interner=interner), loads(text))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(s,)) for s in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(interner) <= 4
