"""Token records: what the store keeps of a user's token (a hash), and how tokens are made."""

from __future__ import annotations

import hashlib
import re
from typing import Any

import pytest

from qsession_provider.core.user import TOKEN_PREFIX, TokenRecord, hash_token, new_token
from qsession_provider.errors import InputError


def test_new_tokens_are_random_urlsafe_and_prefixed() -> None:
    tokens = {new_token() for _ in range(50)}
    assert len(tokens) == 50
    for token in tokens:
        assert token.startswith(TOKEN_PREFIX)
        assert re.fullmatch(r"qs_[A-Za-z0-9_-]{43}", token)


def test_the_hash_is_sha256_hex_and_never_the_token() -> None:
    token = new_token()
    digest = hash_token(token)
    assert digest == hashlib.sha256(token.encode()).hexdigest()
    assert len(digest) == 64 and token not in digest
    assert hash_token(token) == digest and hash_token(new_token()) != digest


@pytest.mark.parametrize("bad", ["", None, 5], ids=repr)
def test_hashing_refuses_what_is_not_a_token(bad: Any) -> None:
    with pytest.raises(InputError, match="non-empty string"):
        hash_token(bad)


def test_a_record_has_defaults_and_normalised_fields() -> None:
    record = TokenRecord("alice", hash_token("t"))
    assert (record.instance, record.share, record.admin, record.created_at) == (
        "default",
        1.0,
        False,
        0.0,
    )
    record = TokenRecord("bob", "h", "team", share=2, admin=1, created_at=3)  # type: ignore[arg-type]
    assert record.share == 2.0 and type(record.share) is float
    assert record.admin is True and record.created_at == 3.0


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"name": ""}, "token name must be a non-empty string"),
        ({"name": 3}, "token name must be a non-empty string"),
        ({"token_hash": ""}, "token token_hash must be a non-empty string"),
        ({"instance": ""}, "token instance must be a non-empty string"),
        ({"share": 0}, "token share must be a finite number > 0"),
        ({"share": float("nan")}, "token share must be a finite number > 0"),
        ({"share": "2"}, "token share must be a number > 0"),
        ({"share": True}, "token share must be a number > 0"),
    ],
    ids=lambda v: repr(v) if isinstance(v, dict) else "",
)
def test_a_bad_record_is_refused_naming_the_field(fields: dict[str, Any], message: str) -> None:
    values: dict[str, Any] = {"name": "alice", "token_hash": "h", **fields}
    with pytest.raises(InputError, match=message):
        TokenRecord(**values)
