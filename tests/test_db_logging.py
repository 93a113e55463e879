"""A database error must not carry what was being written into the logs: SQLAlchemy puts the bound
parameters (a candidate's answer, an email) into the exception's text unless the engine hides
them, and whatever logs the exception (the app's error handler, uvicorn) writes that text out.
On SQLite and PostgreSQL (the `database_url` fixture)."""

from __future__ import annotations

import logging
import uuid

import pytest
from sqlalchemy.exc import SQLAlchemyError

from interviewer.store.db import Database
from interviewer.store.tables import TurnRow


def test_a_database_error_logs_no_parameter_values(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    db = Database(database_url)
    try:
        db.migrate()
        answer = f"my secret answer {uuid.uuid4().hex}"
        failed = False
        with caplog.at_level(logging.ERROR), db.session() as s:
            # no such session: the foreign key refuses the row, whose answer is a parameter
            s.add(
                TurnRow(session_id="no-such-session", seq=1, role="candidate", kind="answer", content=answer)
            )
            try:
                s.commit()
            except SQLAlchemyError:
                failed = True
                logging.getLogger("interviewer.test").exception("the write failed")
        assert failed
        record = caplog.records[-1]
        assert record.exc_info is not None and "turns" in caplog.text  # the statement is there
        assert answer not in caplog.text and "secret" not in str(record.exc_info[1])
    finally:
        db.dispose()
