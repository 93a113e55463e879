"""The admin commands (`users`, `invites`, `bank import/export`) say which database they use and
never create one by accident: run from another folder, `users create` used to report success
into a new ./data/interviewer.db there, which the server never saw."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from interviewer.bank import Bank, VectorIndex
from interviewer.cli import app
from tests.conftest import KNOWLEDGE, ROOT
from tests.kit.client import make_client

PASSWORD = "correct horse battery\n"


@pytest.fixture
def elsewhere(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A folder with no data/ and no .env, and no database setting in the environment."""
    for var in ("DATABASE_URL", "INTERVIEWER_DATABASE_URL", "INTERVIEWER_DATA_DIR"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("INTERVIEWER_KNOWLEDGE_DIR", str(KNOWLEDGE))
    monkeypatch.setenv("INTERVIEWER_PROMPTS_DIR", str(ROOT / "prompts"))
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    monkeypatch.chdir(folder)
    return folder


@pytest.mark.parametrize(
    "args",
    [
        ["users", "create", "--email", "hr@example.com", "--role", "hr", "--password-stdin"],
        ["users", "list"],
        ["invites", "create", "--plan", "python"],
        ["bank", "import", str(KNOWLEDGE)],
    ],
    ids=["users-create", "users-list", "invites-create", "bank-import"],
)
def test_admin_commands_refuse_to_create_a_database_silently(elsewhere: Path, args: list[str]) -> None:
    result = CliRunner().invoke(app, args, input=PASSWORD)
    assert result.exit_code == 1, result.output
    expected = elsewhere / "data" / "interviewer.db"
    message = result.stderr.strip()
    assert len(message.splitlines()) == 1, message  # one clear line
    assert str(expected) in message and "INTERVIEWER_DATA_DIR" in message and "--create-db" in message
    assert not (elsewhere / "data").exists()  # nothing created, not even the folder
    assert "created" not in result.stdout


def test_create_db_creates_it_and_says_where(elsewhere: Path) -> None:
    runner = CliRunner()
    args = ["users", "create", "--email", "hr@example.com", "--role", "hr", "--password-stdin"]
    result = runner.invoke(app, [*args, "--create-db"], input=PASSWORD)
    path = elsewhere / "data" / "interviewer.db"
    assert result.exit_code == 0, result.output
    assert f"database: {path}" in result.stderr and path.is_file()
    listed = runner.invoke(app, ["users", "list"])
    assert listed.exit_code == 0, listed.output
    assert (
        f"database: {path}" in listed.stderr and "hr@example.com" in listed.stdout and "hr" in listed.stdout
    )


def test_admin_commands_write_to_the_servers_database(
    elsewhere: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, bank: Bank, full_index: VectorIndex
) -> None:
    """The server creates its database at start-up; `users create` pointed at it (here with
    INTERVIEWER_DATA_DIR) needs no flag, and the account logs in through the running app."""
    server_data = tmp_path / "server-data"
    server_data.mkdir()
    with make_client(server_data, bank, full_index) as client:  # start-up creates the database
        assert (server_data / "interviewer.db").is_file()
        monkeypatch.setenv("INTERVIEWER_DATA_DIR", str(server_data))
        runner = CliRunner()
        args = ["users", "create", "--email", "hr@example.com", "--role", "hr", "--password-stdin"]
        result = runner.invoke(app, args, input=PASSWORD)
        assert result.exit_code == 0, result.output
        assert f"database: {server_data / 'interviewer.db'}" in result.stderr
        login = client.post(
            "/api/v1/auth/login", json={"email": "hr@example.com", "password": PASSWORD.strip()}
        )
        assert login.status_code == 200, login.text
        invite = runner.invoke(app, ["invites", "create", "--plan", "python"])
        assert invite.exit_code == 0, invite.output
        code = invite.stdout.strip()
        assert len(code.splitlines()) == 1 and len(code) == 16  # stdout stays the code alone
        started = client.post("/api/v1/sessions", json={"invite_code": code})
        assert started.status_code == 201, started.text
    assert not (elsewhere / "data").exists()
