"""Every pinned upstream file of the built-in spaces, by name, in the order `wsnas benchmarks list` shows them.

Each space (or the truth helper it shares) declares its own files; this module only gathers them.
"""
from __future__ import annotations

from wsnas.benchmarks.naslib_truth import NASLIB_SOURCES
from wsnas.benchmarks.sources import Source
from wsnas.benchmarks.spaces.graph.datasets import PLANETOID_SOURCES
from wsnas.benchmarks.spaces.nb201.truth import NB201_SOURCES
from wsnas.benchmarks.xiusu_truth import XIUSU_SOURCES

SOURCES: dict[str, Source] = {**NB201_SOURCES, **XIUSU_SOURCES, **NASLIB_SOURCES, **PLANETOID_SOURCES}
