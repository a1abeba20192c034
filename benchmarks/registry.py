"""Registry of search spaces by name; a user's own space registers here too."""
from __future__ import annotations

from typing import Callable

from wsnas.benchmarks.channel import ChannelMobileNetSpace, ChannelResNetSpace
from wsnas.benchmarks.darts import DartsSpace
from wsnas.benchmarks.graph import GraphSpace
from wsnas.benchmarks.macro import MacroSpace
from wsnas.benchmarks.nb101 import NB101Space
from wsnas.benchmarks.nb201 import NB201Space
from wsnas.benchmarks.space import SearchSpace
from wsnas.core.errors import WsnasError

_FACTORIES: dict[str, Callable[[], SearchSpace]] = {"nb201": NB201Space, "macro": MacroSpace,
                                                  "channel-mobilenet": ChannelMobileNetSpace,
                                                  "channel-resnet": ChannelResNetSpace, "graph": GraphSpace,
                                                  "nb101": NB101Space, "darts": DartsSpace}
_INSTANCES: dict[str, SearchSpace] = {}


class UnknownSpaceError(WsnasError, KeyError):
    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


def register_space(name: str, factory: Callable[[], SearchSpace]) -> None:
    """Make a space available to every wsnas command under `name`."""
    _FACTORIES[name] = factory
    _INSTANCES.pop(name, None)


def unregister_space(name: str) -> None:
    """Forget a registered space (tests, and plugins that replace one)."""
    _FACTORIES.pop(name, None)
    _INSTANCES.pop(name, None)


def space_names() -> list[str]:
    return sorted(_FACTORIES)


def get_space(name: str) -> SearchSpace:
    """The space registered as `name` (one shared instance, so its enumeration is cached)."""
    if name not in _FACTORIES:
        raise UnknownSpaceError(f"unknown search space {name!r}; known spaces: {', '.join(space_names())}")
    if name not in _INSTANCES:
        _INSTANCES[name] = _FACTORIES[name]()
    return _INSTANCES[name]
