"""``qsession`` for the store's administrator: plugins, store, tokens, serve arguments."""

from __future__ import annotations

from pathlib import Path

import pytest

from qsession_provider.cli import main
from qsession_provider.core import SQLiteStore


def test_devices_and_plugins(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["devices"]) == 0
    out = capsys.readouterr().out
    assert "statevector" in out and "emulated_falcon_27" in out and "emulated_eagle_127" in out
    assert main(["plugins"]) == 0
    assert "qsession_provider.plugins.builtin" in capsys.readouterr().out


def test_store_prints_where_the_store_is(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "s.sqlite3"
    assert main(["--store", str(path), "store"]) == 0
    assert capsys.readouterr().out.strip() == str(path.resolve())
    assert main(["store", "--store", str(path)]) == 0  # after the command too
    assert capsys.readouterr().out.strip() == str(path.resolve())


def test_store_prints_a_postgresql_url_without_its_password(
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = "postgresql://alice:s3cret@db.example:5432/jobs?sslmode=require&password=other"
    assert main(["--store", url, "store"]) == 0
    out = capsys.readouterr().out.strip()
    assert out == "postgresql://alice:***@db.example:5432/jobs?sslmode=require&password=***"
    assert "s3cret" not in out and "other" not in out


def test_bad_limit_is_refused_as_usage(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["jobs", "--limit", "0"])
    assert exc.value.code == 2
    assert "--limit: must be at least 1" in capsys.readouterr().err


def test_tokens_create_list_revoke(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from qsession_provider.core.user import hash_token

    path = str(tmp_path / "s.sqlite3")
    create = ["token", "create", "alice", "--instance", "team-a", "--share", "2", "--store", path]
    assert main(create) == 0
    token = capsys.readouterr().out.strip()
    assert token.startswith("qs_") and len(token) > 40
    store = SQLiteStore(path)
    try:
        record = store.token_by_hash(hash_token(token))
        assert record is not None and (record.name, record.instance) == ("alice", "team-a")
        assert record.share == 2.0 and not record.admin
        assert token not in repr(store.tokens())  # only the hash is kept
    finally:
        store.close()
    # --store before the command works as for the other commands.
    assert main(["--store", path, "token", "create", "root", "--instance", "ops", "--admin"]) == 0
    root_token = capsys.readouterr().out.strip()
    assert root_token != token
    assert main(["--store", path, "token", "list"]) == 0
    listing = capsys.readouterr().out
    assert "alice" in listing and "team-a" in listing and "root" in listing and "yes" in listing
    assert token not in listing and root_token not in listing

    assert main(create) == 1
    assert "already exists" in capsys.readouterr().err
    assert main(["token", "revoke", "alice", "--store", path]) == 0
    assert "revoked" in capsys.readouterr().out
    assert main(["token", "revoke", "alice", "--store", path]) == 1
    assert "no token for user 'alice'" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["token", "create", "bob", "--instance", "i", "--share", "0"], "--share"),
        (["token", "create", " bob", "--instance", "i"], "user name"),
        (["serve", "--port", "70000"], "--port"),
        (["serve", "--max-body", "0"], "--max-body"),
    ],
)
def test_bad_service_arguments_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    assert main([*argv, "--store", str(tmp_path / "s.sqlite3")]) == 1
    assert message in capsys.readouterr().err


def test_token_create_needs_an_instance(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["token", "create", "bob"])
    assert exc.value.code == 2
    assert "--instance" in capsys.readouterr().err
