"""Persistence: SQLAlchemy tables, migrations, repository functions."""

from interviewer.store.db import Database

__all__ = ["Database"]
