"""Path samplers for single-path one-shot training (uniform over arch strings or over distinct functions, over
the whole space or a given pool of archs; FairNAS's strict fairness in wsnas.supernets.strict_fair), the run's arch
pool file, and the archs sampled for evaluation."""
from __future__ import annotations

import hashlib
import random
from pathlib import Path
from typing import Any, Collection, Hashable, Sequence

from wsnas.core.atomic import atomic_path
from wsnas.benchmarks.space import ArchError, SearchSpace
from wsnas.core.config import Config, EvalConfig
from wsnas.core.errors import WsnasError
from wsnas.core.run_files import ARCH_POOL
from wsnas.core.runs import RunDir, RunError
from wsnas.supernets.strict_fair import StrictFairSampler

SAMPLERS = ("uniform", "unique", "sandwich", "strict_fair")
EVAL_SAMPLES = ("uniform", "unique")


class PathSampler:
    """Draws one architecture per training step from a seeded stream.

    uniform: every arch string equally likely (isomorphic duplicates weigh as often as they occur);
    unique: every distinct function equally likely, then a uniform member of its isomorphism class;
    sandwich: as uniform, and `step()` adds the space's largest and smallest arch (the slimmable networks'
    sandwich rule: each training step sums the gradients of the three paths).
    With `pool`, only archs of the pool are drawn (functions: those with a member in the pool, then a uniform
    pool member of the class); without it, the whole space.
    """

    def __init__(self, space: SearchSpace, mode: str, seed: Any, pool: Sequence[Any] | None = None) -> None:
        if mode not in SAMPLERS:
            raise WsnasError(f"unknown sampler {mode!r}; choose one of {', '.join(SAMPLERS)}")
        if mode == "strict_fair":
            raise WsnasError("train.sampler=strict_fair draws several paths for one update, which only supernet "
                             "training (`wsnas train`, `wsnas study`) does; choose uniform, unique or sandwich here")
        if pool is not None and not pool:
            raise WsnasError("the arch pool to sample from is empty; give at least one arch, or no pool")
        self.space, self.mode = space, mode
        self.pool = list(pool) if pool is not None else None
        self.rng = random.Random(str(seed))
        if mode == "sandwich" and pool is not None:
            raise WsnasError("train.sampler=sandwich trains the space's largest and smallest arch, which a "
                             "train.arch_pool may exclude; use uniform or unique with an arch pool")
        self.extremes = list(space.extremes()) if mode == "sandwich" else []
        if mode != "unique":
            self.classes = None
        elif pool is None:
            self.classes = list(space.function_classes().values())
        else:
            self.classes = list(_function_classes(space, self.pool).values())

    def step(self) -> list[Any]:
        """The paths of one training step: one drawn arch (after the extremes, for the sandwich rule)."""
        return [*self.extremes, self()]

    def __call__(self) -> Any:
        if self.classes is None:
            if self.pool is None:
                return self.space.random_arch(self.rng)
            return self.pool[self.rng.randrange(len(self.pool))]
        members = self.classes[self.rng.randrange(len(self.classes))]
        return members[self.rng.randrange(len(members))]


def make_sampler(space: SearchSpace, mode: str, seed: Any,
                 pool: Sequence[Any] | None = None) -> PathSampler | StrictFairSampler:
    """The training sampler of train.sampler=`mode`: its `step()` gives the paths of one optimiser step."""
    if mode == "strict_fair":
        return StrictFairSampler(space, seed, pool)
    return PathSampler(space, mode, seed, pool)


def _function_classes(space: SearchSpace, archs: Sequence[Any]) -> dict[Hashable, list[Any]]:
    """`archs` grouped by the function they compute, classes and members in the order of `archs`."""
    classes: dict[Hashable, list[Any]] = {}
    for arch in archs:
        classes.setdefault(space.function_key(arch), []).append(arch)
    return classes


def parse_arch_pool(text: str, source: str, space: SearchSpace) -> list[Any]:
    """The archs of a pool file's text: one arch key per line (any accepted spelling), blank lines and
    `#` comments ignored, each arch at most once."""
    archs: list[Any] = []
    first_line: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), 1):
        entry = line.strip()
        if not entry or entry.startswith("#"):
            continue
        try:
            arch = space.parse(entry)
        except ArchError as exc:
            raise WsnasError(f"arch pool {source}, line {number}: {exc}") from None
        key = space.format(arch)
        if key in first_line:
            raise WsnasError(f"arch pool {source}, line {number} repeats the arch of line {first_line[key]} ({key}); "
                             f"list each arch once")
        first_line[key] = number
        archs.append(arch)
    if not archs:
        raise WsnasError(f"arch pool {source} lists no archs; write one {space.name} arch key per line, "
                         f"or set train.arch_pool=null to train on the whole space")
    return archs


def run_arch_pool(cfg: Config, space: SearchSpace, run: RunDir) -> list[Any] | None:
    """The archs a run trains on: None for the whole space, else those of the file train.arch_pool.

    The first call copies the file into the run (RUN/arch_pool.txt); later calls (a resumed run) require the
    file to be byte-identical to that copy, so a run never trains on two different pools.
    """
    if cfg.train.arch_pool is None:
        return None
    source = Path(cfg.train.arch_pool).expanduser()
    if not source.is_file():
        raise WsnasError(f"train.arch_pool={cfg.train.arch_pool!r} is not a file; give a text file with one "
                         f"arch key per line, or null to train on the whole space")
    data = source.read_bytes()
    archs = parse_arch_pool(data.decode(), str(source), space)
    copy = run.path / ARCH_POOL
    if not copy.is_file():
        with atomic_path(copy) as tmp:
            tmp.write_bytes(data)
    elif copy.read_bytes() != data:
        raise RunError(f"arch pool {source} (sha256 {_sha256(data)[:12]}) differs from the pool run {run.path} was "
                       f"trained on ({copy}, sha256 {_sha256(copy.read_bytes())[:12]}); restore the file from that "
                       f"copy, or choose a new --run-dir")
    return archs


def saved_arch_pool(run: RunDir, space: SearchSpace) -> list[Any] | None:
    """The arch pool a run was trained on (its copy RUN/arch_pool.txt), or None for the whole space."""
    copy = run.path / ARCH_POOL
    return parse_arch_pool(copy.read_text(), str(copy), space) if copy.is_file() else None


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def evaluation_sample(space: SearchSpace, e: EvalConfig, pool: Sequence[Any] | None = None,
                      exclude: Collection[str] = ()) -> list[Any]:
    """The e.n_archs distinct archs to score, drawn with e.seed from the whole space or from `pool`, less those
    whose keys are in `exclude` (a run's landmarks: truth labels its training used), so that every other arch is
    one a run of the same eval.* without them scores too.

    e.sample=unique keeps one arch per function (the first in space or pool order), so isomorphic duplicates
    never appear twice. Over the whole space this is exactly `SearchSpace.sample`, the sample `wsnas evaluate`
    scores; a pool listing the whole space in enumeration order gives the same sample.
    """
    if e.sample not in EVAL_SAMPLES:
        raise WsnasError(f"eval.sample={e.sample!r}; choose {' or '.join(EVAL_SAMPLES)}")
    unique = e.sample == "unique"
    if pool is None:
        sample = space.sample(e.n_archs, e.seed, unique_functions=unique)
    else:
        candidates = [members[0] for members in _function_classes(space, pool).values()] if unique else list(pool)
        full = e.n_archs is None or e.n_archs >= len(candidates)
        sample = candidates if full else random.Random(e.seed).sample(candidates, e.n_archs)
    excluded = set(exclude)
    return [arch for arch in sample if space.format(arch) not in excluded] if excluded else sample
