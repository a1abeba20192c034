"""Registry of search spaces by name; a user's own space registers here too.

The layers below look spaces up by name through hooks this module fills when imported (the wsnas package
imports it first, so they are always filled): the ground-truth tables (wsnas.benchmarks.groundtruth, which the
spaces' truth loaders build on) and the configs' per-space presets (wsnas.core.config, which imports nothing of
wsnas above the core).
"""
from __future__ import annotations

from typing import Any, Callable

from wsnas.benchmarks.groundtruth import set_space_lookup
from wsnas.benchmarks.space import SearchSpace
from wsnas.benchmarks.spaces.channel.space import ChannelMobileNetSpace, ChannelResNetSpace
from wsnas.benchmarks.spaces.darts.space import DartsSpace
from wsnas.benchmarks.spaces.graph.space import GraphSpace
from wsnas.benchmarks.spaces.macro.space import MacroSpace
from wsnas.benchmarks.spaces.nb101.space import NB101Space
from wsnas.benchmarks.spaces.nb201.space import NB201Space
from wsnas.core.config import Config, set_space_presets
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


def configured_space(cfg: Config) -> SearchSpace:
    """cfg's space, with its ground truth's sample read from cfg's data.mirror first when its enumeration is that
    sample (nb101, darts), so that `--data-mirror` reaches it as it reaches the truth."""
    space = get_space(cfg.space)
    if space.enumerates_truth:
        space.ground_truth(cfg.data.mirror)
    return space


def space_presets(name: str) -> dict[str, dict[str, Any]]:
    """The preset values the space `name` declares (SearchSpace.presets); none for an unknown name, which fails
    later, where the space is used."""
    return get_space(name).presets if name in _FACTORIES else {}


set_space_lookup(get_space)
set_space_presets(space_presets)
