"""The schema's history: an ordered list of named steps, one module each, applied in order and
recorded in `schema_migrations` by `store/db.py`'s `migrate()`.

Every step carries its own DDL, as of the day it was written: SQLAlchemy Core `Table` objects
declared in its module (with stubs of the tables its foreign keys refer to), or an explicit
`ALTER` through `ops.py`. No step reads `store/tables.py`, so what a step does never changes when
today's definitions do; a database made by any earlier release and one made today reach the
same schema by running the same steps. `tests/test_migrations.py` checks that the steps build
exactly what `tables.py` describes (columns, types, nullability, defaults, keys, indexes) on
SQLite and PostgreSQL.

How to add a migration (a change to a table in `tables.py`):
1. write `mNNNN_what.py` beside these with `NAME = "NNNN_what"` and `upgrade(conn)`, holding its
   own DDL (a new `Table` in its own `MetaData`, or `ops.add_column(conn, "table", Column(...))`);
2. append it to `MIGRATIONS` below;
3. change `tables.py` to match, and run `tests/test_migrations.py`.
Never edit, reorder or remove a step that has been released: databases out there recorded it
as done and will not run it again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from sqlalchemy import Connection

from interviewer.store.migrations import (
    m0001_initial,
    m0002_overrides_and_recommendations,
    m0003_hr_bank,
    m0004_question_versions,
    m0005_candidate_labels,
    m0006_exercise_runs,
    m0007_exercise_versions,
)
from interviewer.store.migrations.ops import SCHEMA_MIGRATIONS


class Migration(NamedTuple):
    """One step: its recorded `name` and what it does, in the migration's transaction."""

    name: str
    upgrade: Callable[[Connection], None]


MIGRATIONS: list[Migration] = [
    Migration(m0001_initial.NAME, m0001_initial.upgrade),
    Migration(m0002_overrides_and_recommendations.NAME, m0002_overrides_and_recommendations.upgrade),
    Migration(m0003_hr_bank.NAME, m0003_hr_bank.upgrade),
    Migration(m0004_question_versions.NAME, m0004_question_versions.upgrade),
    Migration(m0005_candidate_labels.NAME, m0005_candidate_labels.upgrade),
    Migration(m0006_exercise_runs.NAME, m0006_exercise_runs.upgrade),
    Migration(m0007_exercise_versions.NAME, m0007_exercise_versions.upgrade),
]
"""In order; a database runs those it has not recorded. Append only."""

__all__ = ["MIGRATIONS", "SCHEMA_MIGRATIONS", "Migration"]
