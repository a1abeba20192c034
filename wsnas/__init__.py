"""wsnas: supernet ranking analysis for weight-sharing NAS.

Layers: ``wsnas.benchmarks`` (spaces and ground truth, plain Python), ``wsnas.supernets`` (torch models,
training and evaluation) and ``wsnas.analysis`` (metrics and reports, no torch).
"""
from wsnas.benchmarks import registry as _spaces  # noqa: F401  (fills the core's and the tables' space hooks)
from wsnas.core import VERSION as __version__

_API = ("audit", "load", "compare")  # the notebook API (wsnas.analysis.api), imported on first use: no torch


def __getattr__(name: str):
    if name in _API:
        from wsnas.analysis import api

        return getattr(api, name)
    raise AttributeError(f"module 'wsnas' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_API])
