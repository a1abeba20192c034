"""Registers TinyConv with wsnas: name this file with `--plugin examples/tinyconv/plugin.py`.

The space registers always; its supernet only where torch is installed, so torch-free commands
(`wsnas analyze`, `wsnas report`) still work on TinyConv runs without it.
"""
from __future__ import annotations

import importlib.util

from wsnas.benchmarks.registry import register_space

from .space import TinyConvSpace

register_space(TinyConvSpace.name, TinyConvSpace)

if importlib.util.find_spec("torch") is not None:
    from wsnas.supernets.registry import SupernetSpec, num_classes, register_supernet

    from .supernet import TinyConvSupernet, extract_subnet

    register_supernet(TinyConvSpace.name, SupernetSpec(
        build=lambda cfg: TinyConvSupernet(num_classes(cfg)),
        extract=extract_subnet,
        datasets=("cifar10",),
        relaxed=True,  # it runs mixtures and straight-through picks, so every search method works on it
    ))
