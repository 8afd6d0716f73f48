"""Run history: SQLAlchemy Core tables, Alembic migrations, backends by URL."""

from runyard.store.base import AbstractStore, open_store

__all__ = ["AbstractStore", "open_store"]
