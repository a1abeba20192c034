"""A registry of records (search methods, ranking methods): the built-in ones, each module's `RECORD_NAME`
attribute imported on first use, then the ones a plugin registers. Records are keyed by their `name`."""
from __future__ import annotations

import importlib
from typing import Generic, Protocol, TypeVar


class Named(Protocol):
    name: str


T = TypeVar("T", bound=Named)


class Records(Generic[T]):
    """The records of `package`'s modules `built_in` (their `attribute`), loaded lazily, plus registered ones."""

    def __init__(self, package: str, built_in: tuple[str, ...], attribute: str = "METHOD") -> None:
        self.package, self.built_in, self.attribute = package, built_in, attribute
        self._records: dict[str, T] = {}

    def all(self) -> dict[str, T]:
        """Every record by name, the built-in ones first (in `built_in` order)."""
        if not self._records:
            for module in self.built_in:
                record = getattr(importlib.import_module(f"{self.package}.{module}"), self.attribute)
                self._records.setdefault(record.name, record)
        return self._records

    def register(self, record: T) -> None:
        self.all()[record.name] = record
