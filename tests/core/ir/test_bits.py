"""PackedBits: the layout (Qiskit's BitArray bytes), packing, and its encoding tag."""

from __future__ import annotations

import json

import numpy as np
import pytest

from qsession_provider.core.ir import PackedBits
from qsession_provider.core.ir.bits import as_packed, num_bytes
from qsession_provider.core.ir.encoding import compact, dumps, loads, to_jsonable
from qsession_provider.errors import InputError, StoreError


def random_bits(shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    return (np.random.default_rng(seed).random(shape) < 0.5).astype(np.uint8)


def test_the_layout_is_big_endian_bytes_with_bit_0_in_the_last_byte() -> None:
    bits = np.zeros((2, 11), dtype=np.uint8)
    bits[0, 0] = 1  # value 1
    bits[1, [3, 8, 10]] = 1  # value 8 + 256 + 1024
    packed = PackedBits.from_bits(bits)
    assert packed.num_bits == 11 and packed.shape == (2,) and packed.num_bytes == 2
    assert packed.data.tolist() == [[0, 1], [5, 8]]
    assert packed.data.dtype == np.uint8 and packed.data.flags.c_contiguous


@pytest.mark.parametrize("num_bits", [0, 1, 7, 8, 9, 20, 64, 65])
@pytest.mark.parametrize("shape", [(5,), (2, 3, 4), (0,)])
def test_packing_round_trips(num_bits: int, shape: tuple[int, ...]) -> None:
    bits = random_bits((*shape, num_bits), seed=num_bits)
    packed = PackedBits.from_bits(bits)
    assert packed.shape == shape and packed.num_bits == num_bits
    assert packed.data.shape == (*shape, num_bytes(num_bits))
    unpacked = packed.unpack()
    assert unpacked.dtype == np.uint8 and unpacked.shape == bits.shape
    np.testing.assert_array_equal(unpacked, bits)
    np.testing.assert_array_equal(np.asarray(packed), bits)
    np.testing.assert_array_equal(packed.unpack(np.int8), bits.astype(np.int8))
    np.testing.assert_array_equal(np.asarray(packed, dtype=bool), bits.astype(bool))
    assert packed.nbytes == int(np.prod(shape)) * num_bytes(num_bits)


def test_bits_as_values_integer_or_bool_are_packed_as_0_and_1() -> None:
    expected = PackedBits.from_bits(np.array([[1, 0, 1]], dtype=np.uint8))
    assert PackedBits.from_bits(np.array([[True, False, True]])) == expected
    assert PackedBits.from_bits([[3, 0, -1]]) == expected


def test_indexing_reshaping_and_joining_keep_the_bits_axis() -> None:
    bits = random_bits((2, 3, 10))
    packed = PackedBits.from_bits(bits)
    np.testing.assert_array_equal(packed[1].unpack(), bits[1])
    np.testing.assert_array_equal(packed[0, 2].unpack(), bits[0, 2])
    np.testing.assert_array_equal(packed[:, 1:].unpack(), bits[:, 1:])
    assert packed.reshape(6).shape == (6,) and packed.reshape((3, 2)).shape == (3, 2)
    joined = PackedBits.concatenate([packed, packed[:1]])
    np.testing.assert_array_equal(joined.unpack(), np.concatenate([bits, bits[:1]]))
    for bad in [(0, 0, 0), Ellipsis, None]:
        with pytest.raises(InputError, match="cannot index"):
            packed[bad]
    with pytest.raises(InputError, match="widths"):
        PackedBits.concatenate([packed, PackedBits.from_bits(random_bits((2, 3, 9)))])
    with pytest.raises(InputError, match="nothing"):
        PackedBits.concatenate([])


def test_equality_compares_the_bits() -> None:
    a = PackedBits.from_bits(random_bits((4, 9), seed=1))
    assert a == PackedBits(9, a.data.copy())
    assert a != PackedBits.from_bits(random_bits((4, 9), seed=2))
    assert a != PackedBits(10, a.data.copy())
    assert a != a.data
    assert "num_bits=9" in repr(a) and "(4,)" in repr(a)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((-1, np.zeros((2, 0), np.uint8)), "0 or more"),
        ((True, np.zeros((2, 1), np.uint8)), "must be an integer"),
        ((3, np.zeros((2, 1), np.int64)), "uint8 array"),
        ((3, [[1]]), "uint8 array"),
        ((9, np.zeros((2, 1), np.uint8)), "need 2 bytes"),
        ((0, np.zeros((), np.uint8)), "need 0 bytes"),
    ],
)
def test_malformed_packed_bits_are_refused(args: tuple[object, object], message: str) -> None:
    with pytest.raises(InputError, match=message):
        PackedBits(*args)  # type: ignore[arg-type]


def test_as_packed_takes_packed_bits_and_the_old_unpacked_arrays() -> None:
    bits = random_bits((3, 5, 12))
    packed = PackedBits.from_bits(bits)
    assert as_packed(packed) is packed
    assert as_packed(bits) == packed  # results stored before bits were kept packed
    for bad in ["0101", np.array(1), np.zeros((2, 2)), {"a": 1}]:
        with pytest.raises(InputError, match="pub 3: expected bits"):
            as_packed(bad, where="pub 3")


# -- the encoding's "__bits__" tag -----------------------------------------------------------


@pytest.mark.parametrize("num_bits", [0, 3, 8, 20])
def test_packed_bits_round_trip_through_the_encoding(num_bits: int) -> None:
    packed = PackedBits.from_bits(random_bits((2, 7, num_bits), seed=num_bits))
    result = {"pubs": [{"registers": {"c": packed, "d": packed[0]}, "shots": 7}]}
    text = dumps(result)
    assert text == compact(to_jsonable(result))  # the fast writer and the tree agree
    assert '"__bits__"' in text and '"__nd__"' not in text
    back = loads(text)["pubs"][0]["registers"]
    assert back["c"] == packed and back["d"] == packed[0]
    assert back["c"].data.flags.writeable
    # Packed text is about a sixth of the unpacked bytes' base64 (8 bits a byte).
    if num_bits == 20:
        assert len(dumps(packed)) < len(dumps(packed.unpack())) / 4


def test_a_result_stored_unpacked_still_decodes() -> None:
    # The "__nd__" uint8 form every store held before bits were packed.
    bits = random_bits((2, 16, 3))
    old = json.dumps(
        {
            "pubs": [
                {
                    "registers": {
                        "c": {"__nd__": ["|u1", [2, 16, 3], _b64(bits.tobytes())]},
                    },
                    "shots": 16,
                }
            ]
        }
    )
    register = loads(old)["pubs"][0]["registers"]["c"]
    assert isinstance(register, np.ndarray) and register.dtype == np.uint8
    assert as_packed(register) == PackedBits.from_bits(bits)


def test_a_user_dict_with_the_tag_as_only_key_stays_a_dict() -> None:
    value = {"__bits__": [1, [1], "AQ=="]}
    assert loads(dumps(value)) == value


@pytest.mark.parametrize(
    "content",
    [
        '[3, [2], "AA=="]',  # 1 byte for 2 strings of 1 byte
        '[-1, [1], ""]',
        '["3", [1], "AA=="]',
        '[3, [1.5], "AA=="]',
        '[3, [1], "not base64!"]',
        "[3, [1]]",
    ],
)
def test_a_malformed_bits_tag_is_a_store_error(content: str) -> None:
    with pytest.raises(StoreError, match="not valid encoded data"):
        loads('{"r": {"__bits__": ' + content + "}}")


def _b64(raw: bytes) -> str:
    import base64

    return base64.b64encode(raw).decode("ascii")
