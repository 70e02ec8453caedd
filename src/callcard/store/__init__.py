"""Persistence: the ``Store`` protocol the domain uses, and its SQLite implementation."""

from .base import Row, Store, Where
from .sqlite import SQLiteStore

__all__ = ["Row", "SQLiteStore", "Store", "Where"]
