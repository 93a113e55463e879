"""The migrations (`interviewer/store/migrations/`) on real databases, SQLite files and PostgreSQL
(tests/pg.py; skipped with the reason where no server can be started):

- drift: a database built by the steps has exactly the schema `tables.py` describes (reflected
  from both and compared: tables, columns in order with their types, nullability and defaults,
  primary and foreign keys, unique constraints, indexes) — this fails when a column is added to
  `tables.py` without a step;
- every earlier release: a database with only the first k steps and rows written in that era's
  shape (by the step's own tables) is brought up to date, its rows intact and read and written
  by today's code;
- a new step adding a column to an old database: the column arrives, the rows survive, and the
  drift check sees the column missing until the step runs;
- two processes migrating one fresh database at once: both succeed, every step runs once;
- a database made before the steps carried their own DDL (step 0001 built `tables.py` of the
  day) needs nothing and has the same schema.
"""

from __future__ import annotations

import ast
import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Column, Engine, MetaData, String, func, inspect, select
from sqlalchemy.orm import Session

from interviewer.store import repo
from interviewer.store.db import Database, migrate
from interviewer.store.migrations import MIGRATIONS, SCHEMA_MIGRATIONS, Migration
from interviewer.store.migrations.ops import add_column
from interviewer.store.tables import Base, Invite, User
from tests.conftest import ROOT
from tests.migration_rows import AT, ERAS, SESSION_ID, STATE, Written

NAMES = [m.name for m in MIGRATIONS]

# --- fresh databases, and their schema as reflected -----------------------------------------------


class Fresh:
    """Fresh, empty databases of one kind for one test (SQLite files, or new PostgreSQL
    databases); their engines are disposed and the PostgreSQL databases dropped afterwards."""

    def __init__(self, kind: str, folder: Path, server: Any, stack: contextlib.ExitStack) -> None:
        self.kind, self._folder, self._server, self._stack = kind, folder, server, stack
        self._count = 0

    def url(self) -> str:
        self._count += 1
        if self.kind == "sqlite":
            return f"sqlite:///{self._folder / f'db{self._count}.db'}"
        return str(self._stack.enter_context(self._server.database()))

    def database(self, url: str | None = None) -> Database:
        db = Database(url or self.url())
        self._stack.callback(db.dispose)
        return db


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Fresh]:
    server = request.getfixturevalue("postgres") if request.param == "postgresql" else None
    with contextlib.ExitStack() as stack:
        yield Fresh(request.param, tmp_path, server, stack)


Schema = dict[str, dict[str, Any]]
"""Table name -> aspect (columns, primary_key, ...) -> what reflection reports, made comparable."""


def schema(engine: Engine) -> Schema:
    """Everything reflection tells about the database's tables, in a form that compares equal
    between two databases exactly when their schemas are the same."""
    inspector = inspect(engine)

    def plain(items: list[Any]) -> list[str]:
        return sorted(json.dumps(item, sort_keys=True, default=str) for item in items)

    tables: Schema = {}
    for name in inspector.get_table_names():
        columns = [
            {**c, "type": c["type"].compile(dialect=engine.dialect)} for c in inspector.get_columns(name)
        ]
        tables[name] = {
            "columns": {c["name"]: json.dumps(c, sort_keys=True, default=str) for c in columns},
            "column_order": [c["name"] for c in columns],
            "primary_key": plain([inspector.get_pk_constraint(name)]),
            "foreign_keys": plain(list(inspector.get_foreign_keys(name))),
            "unique_constraints": plain(list(inspector.get_unique_constraints(name))),
            "indexes": plain(list(inspector.get_indexes(name))),
            "check_constraints": plain(list(inspector.get_check_constraints(name))),
            "options": plain([inspector.get_table_options(name)]),
        }
    if engine.dialect.name == "postgresql":
        tables["(sequences)"] = {"names": sorted(inspector.get_sequence_names())}
    return tables


def differences(migrated: Schema, today: Schema) -> list[str]:
    """What differs, one line each (empty when nothing does)."""
    found: list[str] = []
    for table in sorted(migrated.keys() | today.keys()):
        if table not in today:
            found.append(f"{table}: built by the migrations, not in tables.py")
        elif table not in migrated:
            found.append(f"{table}: in tables.py, not built by the migrations")
        else:
            for aspect, value in today[table].items():
                built = migrated[table][aspect]
                if aspect == "columns":
                    for column in sorted(built.keys() | value.keys()):
                        if column not in value:
                            found.append(f"{table}.{column}: built by the migrations, not in tables.py")
                        elif column not in built:
                            found.append(f"{table}.{column}: in tables.py, not built by the migrations")
                        elif built[column] != value[column]:
                            found.append(
                                f"{table}.{column}: migrations {built[column]} != tables.py {value[column]}"
                            )
                elif built != value and (aspect != "column_order" or set(built) == set(value)):
                    found.append(f"{table} {aspect}: migrations {built} != tables.py {value}")
    return found


def todays_schema(fresh: Fresh, metadata: MetaData = Base.metadata) -> Schema:
    """The schema `create_all` builds from these definitions (today's `tables.py` by default)."""
    db = fresh.database()
    metadata.create_all(db.engine)
    return schema(db.engine)


assert len(ERAS) == len(MIGRATIONS), "each step has rows written in its era's shape"


def old_database(db: Database, applied: int) -> Written:
    """The database as the release with the first `applied` steps left it, holding rows that
    release wrote (each era's rows through its own step's tables)."""
    assert migrate(db.engine, migrations=MIGRATIONS[:applied]) == NAMES[:applied]
    written = Written()
    with db.engine.begin() as conn:
        for era in ERAS[:applied]:
            era(conn, written)
    return written


def _same(got: Any, want: Any) -> bool:
    if isinstance(want, datetime) and isinstance(got, datetime):  # SQLite hands back naive UTC
        return (got if got.tzinfo else got.replace(tzinfo=UTC)) == want
    return bool(got == want)


def assert_intact(db: Database, written: Written) -> None:
    """Every row reads back as written, through today's tables and today's mapped classes."""
    tables = Base.metadata.tables
    with db.engine.connect() as conn:
        for name, key, values in written.rows:
            table = tables[name]
            (pk,) = table.primary_key.columns
            got = conn.execute(select(table).where(pk == key)).mappings().one()
            wrong = {k: (got[k], v) for k, v in values.items() if not _same(got[k], v)}
            assert not wrong, f"{name} {key}: {wrong}"
    expected = {name: sum(1 for n, _, _ in written.rows if n == name) for name in tables}
    with db.session() as s:
        for mapper in Base.registry.mappers:  # loading every mapped column of every row
            table_name = mapper.class_.__table__.name
            loaded = s.scalars(select(mapper.class_)).all()
            if table_name != "schema_migrations":
                assert len(loaded) == expected[table_name], table_name


def assert_usable_today(db: Database, written: Written) -> None:
    """Today's repository reads the old session; today's classes write new rows (after the old
    ones: on PostgreSQL the ids come from the sequences the old rows advanced)."""
    with db.session() as s:
        if any(name == "sessions" for name, _, _ in written.rows):
            stored = repo.get_session(s, session_id=SESSION_ID)
            assert stored is not None and stored.state == STATE and stored.candidate_label is None
        user = User(email="new@example.com", role="evaluator", password_hash="h2")
        s.add(user)
        s.flush()
        s.add(
            Invite(
                code_hash="k" * 64,
                plan_id="python",
                expires_at=AT,
                created_by=user.id,
                candidate_label="Ann Lee",
            )
        )
        s.commit()
    with Session(db.engine) as s:
        labels = s.scalars(select(Invite.candidate_label).order_by(Invite.id)).all()
    assert labels[-1] == "Ann Lee"


# --- the tests ----------------------------------------------------------------------------------


def test_the_migrations_build_exactly_todays_tables(fresh: Fresh) -> None:
    """The drift check: add a column (or a table, an index, a constraint) to `tables.py` without
    a step and this fails, naming it."""
    db = fresh.database()
    assert db.migrate() == NAMES
    assert differences(schema(db.engine), todays_schema(fresh)) == []


@pytest.mark.parametrize("applied", range(len(MIGRATIONS) + 1), ids=lambda k: f"after-{k}-steps")
def test_a_database_from_every_earlier_release_is_brought_up_to_date(fresh: Fresh, applied: int) -> None:
    db = fresh.database()
    written = old_database(db, applied)
    upgraded = fresh.database(db.url)  # the new release opens it (a new process would)
    db.dispose()
    assert upgraded.migrate() == NAMES[applied:]
    assert upgraded.migrate() == []
    assert differences(schema(upgraded.engine), todays_schema(fresh)) == []
    assert_intact(upgraded, written)
    assert_usable_today(upgraded, written)


def test_a_new_step_adds_a_column_to_an_old_database(fresh: Fresh) -> None:
    """What the next real step will do: an old database, full of rows, gains a column; the old
    rows read None in it, and the drift check (against `tables.py` with the column) passes only
    once the step has run."""
    note = Migration("0006_invite_note", lambda conn: add_column(conn, "invites", Column("note", String(50))))
    steps = [*MIGRATIONS, note]
    tomorrow = MetaData()
    for table in Base.metadata.sorted_tables:
        table.to_metadata(tomorrow)
    tomorrow.tables["invites"].append_column(Column("note", String(50)))
    expected = todays_schema(fresh, tomorrow)

    db = fresh.database()
    written = old_database(db, len(MIGRATIONS))
    missing = differences(schema(db.engine), expected)
    assert missing == ["invites.note: in tables.py, not built by the migrations"]

    assert migrate(db.engine, migrations=steps) == ["0006_invite_note"]
    assert migrate(db.engine, migrations=steps) == []
    assert differences(schema(db.engine), expected) == []
    assert_intact(db, written)
    invites = tomorrow.tables["invites"]
    with db.engine.begin() as conn:
        assert set(conn.scalars(select(invites.c.note))) == {None}
        conn.execute(invites.update().where(invites.c.code_hash == "i" * 64).values(note="called back"))
        assert conn.scalar(select(invites.c.note).where(invites.c.code_hash == "i" * 64)) == "called back"
    assert_usable_today(db, written)  # today's code does not mind the extra column


MIGRATE_IN_A_PROCESS = """
import json, pathlib, sys, time
from interviewer.store.db import Database
db = Database(sys.argv[1])
print("ready", flush=True)
go = pathlib.Path(sys.argv[2])
while not go.exists():
    time.sleep(0.002)
print(json.dumps(db.migrate()), flush=True)
db.dispose()
"""


def test_two_processes_migrating_one_fresh_database_at_once(fresh: Fresh, tmp_path: Path) -> None:
    """Two workers starting together on a database that does not exist yet (for SQLite, not even
    the file): both succeed, each step runs once, and the schema is today's."""
    url, go = fresh.url(), tmp_path / "go"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", MIGRATE_IN_A_PROCESS, url, str(go)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(2)
    ]
    try:
        for w in workers:  # both imported and holding an engine; then released together
            assert w.stdout is not None and w.stdout.readline().strip() == "ready"
        go.touch()
        outputs = [w.communicate(timeout=120) for w in workers]
    finally:
        for w in workers:
            if w.poll() is None:
                w.kill()
    assert [w.returncode for w in workers] == [0, 0], [err for _, err in outputs]
    applied = [json.loads(out) for out, _ in outputs]
    assert sorted(name for names in applied for name in names) == sorted(NAMES)
    db = fresh.database(url)
    with db.engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(SCHEMA_MIGRATIONS)) == len(NAMES)
    assert differences(schema(db.engine), todays_schema(fresh)) == []


def test_a_database_made_before_frozen_steps_needs_nothing(fresh: Fresh) -> None:
    """Until the steps carried their own DDL, 0001 built the tables of `tables.py` of its day, so
    a database made since 0005 holds today's tables with all five steps recorded: it runs nothing
    and has the schema the steps build."""
    db = fresh.database()
    with db.engine.begin() as conn:
        Base.metadata.create_all(conn)
        for name in NAMES:
            conn.execute(SCHEMA_MIGRATIONS.insert().values(name=name, applied_at=AT))
    assert db.migrate() == []
    built = fresh.database()
    built.migrate()
    assert differences(schema(db.engine), schema(built.engine)) == []


def test_no_step_reads_todays_definitions() -> None:
    """A step that built tables from `tables.py` would build tomorrow's columns in a new database
    and skip them in an old one: no module of the migrations package imports it (or the ORM)."""
    folder = ROOT / "interviewer" / "store" / "migrations"
    modules = sorted(folder.glob("*.py"))
    assert len(modules) >= len(MIGRATIONS) + 2  # the steps, ops.py, __init__.py
    for path in modules:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                package = "interviewer.store.migrations".rsplit(".", max(node.level - 1, 0))[0]
                module = f"{package}.{node.module}" if node.level and node.module else node.module or package
                names = [module, *(f"{module}.{a.name}" for a in node.names)]
            else:
                continue
            for name in names:
                assert not name.startswith(("interviewer.store.tables", "sqlalchemy.orm")), (path.name, name)
