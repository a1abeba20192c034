"""The search methods of `wsnas search`, one record each (no torch): the registry of their SearchMethod records.

A method is two things: the torch class that runs its steps on a supernet (wsnas.supernets.search.<method>), and
what the rest of wsnas must know of it without torch: the `--method` choices and their config layers when a
command is parsed, the data use and score name a search writes, the published result a report quotes. That second
part is a SearchMethod record (record.py), one module per method here, in the benchmarks layer: the reports
(wsnas.analysis) may import it but never wsnas.supernets, and the commands build a search's config before torch is
imported. The record names its torch class as "module:Class", imported only when a search runs
(wsnas.supernets.search.base.make_method), so no layer imports one above it.

Adding a method: a record module here (its name in BUILT_IN, which sets the order `--method` lists them in), the
torch class in wsnas/supernets/search/, and a test. A plugin registers its own record with register_method.

    record.py   SearchMethod, Protocol (a published run and the presets' reductions), Published
    presets.py  the config layers of a search (published settings, then the preset's reduction) and the arch-step
                regime of a reduced run
    xautodl.py  the settings xautodl's NB201 scripts share across methods
    rsps.py, enas.py, darts_v1.py, darts_v2.py, gdas.py, snas.py, gaea.py: one record each
"""
from __future__ import annotations

from wsnas.benchmarks.search_methods.record import SearchMethod
from wsnas.core.config import ConfigError
from wsnas.core.records import Records

# The built-in methods' record modules, in the order `wsnas search --method` lists them.
BUILT_IN = ("rsps", "enas", "darts_v1", "darts_v2", "gdas", "snas", "gaea")

_RECORDS: Records[SearchMethod] = Records(__name__, BUILT_IN)


def register_method(record: SearchMethod) -> None:
    """Make a search method available to `wsnas search` and its reports under record.name."""
    _RECORDS.register(record)


def method_names() -> tuple[str, ...]:
    """Every registered method's name, the built-in ones first."""
    return tuple(_RECORDS.all())


def find_method(name: str) -> SearchMethod | None:
    """The record of method `name`, or None."""
    return _RECORDS.all().get(name)


def method_record(name: str) -> SearchMethod:
    """The record of method `name`; a ConfigError naming the registered ones otherwise."""
    record = find_method(name)
    if record is None:
        raise ConfigError(f"unknown search method {name!r}; choose one of {', '.join(method_names())}")
    return record
