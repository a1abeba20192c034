"""The errors a search space raises (plain Python). They sit below both the space interface (space.py, which
names them for plugins) and the ground-truth table (groundtruth.py), which each import them."""
from __future__ import annotations

from wsnas.core.errors import WsnasError


class ArchError(WsnasError, ValueError):
    """An architecture string that does not parse in the space it was given to."""


class SpaceError(WsnasError):
    """A space asked for something it does not provide."""
