"""Score sampled subnets on held-out data with an explicit BatchNorm policy, without rebuilding any model.

BN policies (logged with every score):
  recalibrate  reset running statistics, then accumulate a cumulative average over `calib_batches` fixed
               training batches (no augmentation, no gradients, dropout off: only BN layers in train mode), then
               evaluate with those statistics (default);
  inherit      evaluate with the running statistics left by supernet training (shared by all paths);
  batch        evaluate with each evaluation batch's own statistics (running statistics untouched).

Every score belongs to a score set (wsnas.core.score_sets): the hash of every setting that changes it (BN policy,
calibration batches, held-out images, fine-tuning, precision and memory format, and a fingerprint of the images
actually used), and the run's training protocol where it is not the plain one (wsnas.supernets.protocols). A rerun
with other settings adds a new score set; it never mixes with or rewrites the old one.
Subnets are scored together: a step of their paths that several share (the stem, a first-cell op on the same input,
a layer prefix) is computed and recalibrated once (wsnas.supernets.stages), and each score is bit-identical to
scoring that subnet alone. Subnets scored one by one (fine-tuned, or a supernet without stages) each run under an
RNG seeded by eval.seed and their key. Either way a score does not depend on the order or the sharding of the
subnets.
"""
from __future__ import annotations

import dataclasses
import fcntl
import hashlib
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence

import pandas as pd
import torch
from torch import nn
from tqdm.auto import tqdm

from wsnas.benchmarks.ranking_methods.landmarks import read_landmarks
from wsnas.benchmarks.registry import configured_space, get_space
from wsnas.core.config import Config
from wsnas.core.errors import WsnasError
from wsnas.core.run_files import (ARCH_INDEX, BN_POLICY, CALIB_BATCHES, EPOCH, FINETUNE, FUNCTION_KEY, KEY, N_EVAL,
                                   SCORE_KEY, SCORE_SET, SCORE_TIMINGS, SCORES_LOCK, SECONDS, SHARD, SHARD_GLOB,
                                   SHARDS_DIR, SUPERNET_ACC, SUPERNET_LOSS)
from wsnas.core.runs import RunDir, provenance, read_scores_table, read_table
from wsnas.core.score_sets import read_score_sets, register_score_set, score_set_id, settings_difference
from wsnas.supernets.checkpoints import checkpoint_path, load_checkpoint, saved_epochs
from wsnas.supernets.data import DeviceImages
from wsnas.supernets.fewshot import loaded_supernet, route_groups
from wsnas.supernets.distributed import launched_world, rank_runtime
from wsnas.supernets.finetune import FineTuning, finetuned
from wsnas.supernets.autotune import autotuned_runtime
from wsnas.supernets.protocols import protocol_settings
from wsnas.supernets.runtime import Runtime
from wsnas.supernets.stages import score_staged, tally
from wsnas.supernets.registry import build_model, prepare_data
from wsnas.supernets.samplers import evaluation_sample, saved_arch_pool

BN_POLICIES = ("recalibrate", "inherit", "batch")
Batches = Sequence[tuple[torch.Tensor, torch.Tensor]]
FLUSH_EVERY = 20  # subnets scored between writes of the results: a killed evaluation loses at most this many


@dataclass(frozen=True)
class Shard:
    """Part `index` of `count` of the sampled arch list: archs[index::count], a deterministic partition."""

    index: int
    count: int

    @classmethod
    def parse(cls, text: str) -> "Shard":
        """'i/n' with 0 <= i < n, as given to `wsnas evaluate --shard`."""
        index, sep, count = text.partition("/")
        if not (sep and index.strip().isdecimal() and count.strip().isdecimal() and int(index) < int(count)):
            raise WsnasError(f"--shard {text!r} is not 'i/n' with 0 <= i < n; e.g. --shard 0/4 scores the first of "
                             f"4 shards")
        return cls(int(index), int(count))

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    def select(self, archs: Sequence[Any]) -> list[Any]:
        return list(archs[self.index::self.count])

    def path(self, run: RunDir) -> Path:
        return run.path / SHARDS_DIR / SHARD.format(index=self.index, count=self.count)


def batch_norms(model: nn.Module) -> list[nn.modules.batchnorm._BatchNorm]:
    return [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]


@torch.no_grad()
def recalibrate_bn(model: nn.Module, arch: Any, batches: Batches, rt: Runtime) -> None:
    """Reset BN running stats and re-estimate them as a cumulative average over `batches` on `arch`'s path."""
    bns = batch_norms(model)
    momenta = [bn.momentum for bn in bns]
    model.eval()  # dropout (and anything else train-mode) off: only the BN layers gather statistics
    for bn in bns:
        bn.reset_running_stats()
        bn.momentum = None  # cumulative moving average: every calibration batch weighs the same
        bn.train()
    with rt.autocast():
        for x, _ in batches:
            model(x, arch)
    for bn, momentum in zip(bns, momenta):
        bn.momentum = momentum


@torch.no_grad()
def accuracy_and_loss(model: nn.Module, arch: Any, batches: Batches, rt: Runtime, bn_policy: str,
                      hits: list[torch.Tensor] | None = None) -> tuple[float, float]:
    """Top-1 accuracy (%) and mean cross-entropy of `arch` over `batches` under the given BN mode; with `hits`,
    each batch's per-image correctness (bool) is appended to it."""
    bns = batch_norms(model)
    model.eval()  # dropout off under every policy
    if bn_policy == "batch":
        for bn in bns:
            bn.train()
            bn.track_running_stats = False  # batch statistics; running ones (and their counter) untouched
    scores = tally(((model(x, arch), y) for x, y in batches), rt, hits)
    for bn in bns:
        bn.track_running_stats = True
    return scores


def score_subnet(model: nn.Module, arch: Any, calib: Batches, evaluation: Batches, rt: Runtime,
                 bn_policy: str, finetune: FineTuning | None = None,
                 hits: list[torch.Tensor] | None = None) -> tuple[float, float]:
    """One subnet's held-out accuracy and loss, sharing the supernet's weights (nothing is rebuilt).

    With `finetune`, the path is first fine-tuned (wsnas.supernets.finetune), then the BN policy applies
    (`inherit` then uses the statistics the fine-tuning left), and afterwards every weight is restored exactly.
    With `hits`, the per-image correctness is appended to it (accuracy_and_loss).
    """
    if bn_policy not in BN_POLICIES:
        raise WsnasError(f"unknown BN policy {bn_policy!r}; choose one of {', '.join(BN_POLICIES)}")
    with finetuned(model, arch, finetune, rt):
        if bn_policy == "recalibrate":
            recalibrate_bn(model, arch, calib, rt)
        return accuracy_and_loss(model, arch, evaluation, rt, bn_policy, hits)


def materialize(data: DeviceImages, batch_size: int, limit: int | None, seed: int, rt: Runtime,
                shuffle: bool) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Fixed batches (no augmentation) held on the device, reused for every subnet."""
    gen = torch.Generator().manual_seed(seed)
    out = []
    for x, y in data.batches(batch_size, shuffle=shuffle, augment=False, generator=gen, drop_last=False,
                             channels_last=rt.batches_channels_last):
        out.append((x, y))
        if limit is not None and len(out) >= limit:
            break
    return out


def data_fingerprint(*batch_lists: Batches) -> str:
    """sha256 (first 16 hex digits) of the images and labels of the given batches, in order: which data scored."""
    digest = hashlib.sha256()
    for batches in batch_lists:
        for x, y in batches:
            for tensor in (x, y):
                digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()[:16]


def subnet_seed(seed: int, key: str) -> int:
    """The RNG seed a subnet is scored under: eval.seed and its key only (not its place in the order)."""
    digest = hashlib.sha256(f"{seed}|{key}".encode()).digest()
    return int.from_bytes(digest[:8], "little") & (2**63 - 1)


class SubnetScorer:
    """What scoring subnets needs, built once: the data split on the device, the fixed calibration and held-out
    batches, and one supernet whose weights each checkpoint is loaded into. Every subnet is then scored on that
    one model (nothing rebuilt), under cfg.eval's BN policy."""

    def __init__(self, cfg: Config, rt: Runtime, index_of: Callable[[str], int] | None = None) -> None:
        e = cfg.eval
        if e.bn_policy not in BN_POLICIES:
            raise WsnasError(f"unknown BN policy {e.bn_policy!r}; choose one of {', '.join(BN_POLICIES)}")
        self.cfg, self.rt, self.index_of = cfg, rt, index_of
        self.space = get_space(cfg.space)
        self.train_set, valid_set = prepare_data(cfg.data, rt.device)
        self.calib_seed = e.seed if e.calib_seed is None else e.calib_seed
        self.calib = materialize(self.train_set, cfg.train.batch_size, e.calib_batches, self.calib_seed, rt,
                                 shuffle=True)
        self.evaluation = materialize(valid_set, e.batch_size, None, e.seed, rt, shuffle=False)
        self.n_eval = len(valid_set)
        self.supernet = self.model = build_model(cfg, rt)  # model: the loaded checkpoint's (few-shot: split) module
        self.epoch: int | None = None
        recalibrates = e.bn_policy == "recalibrate"
        self.fingerprint = data_fingerprint(self.evaluation, *([self.calib] if recalibrates else []))

    def describe(self) -> str:
        calibration = (f"calibration {len(self.calib)}x{self.cfg.train.batch_size} train images (dropout off), "
                       if self.cfg.eval.bn_policy == "recalibrate" else "")
        return (f"bn_policy={self.cfg.eval.bn_policy}, {calibration}{self.n_eval} held-out images, "
                f"{self.rt.describe()}")

    def settings(self, finetune: FineTuning | None = None) -> dict[str, Any]:
        """Every setting that changes a score of this scorer (with `finetune`): the score set's identity."""
        e = self.cfg.eval
        recalibrates = e.bn_policy == "recalibrate"
        return {
            "bn_policy": e.bn_policy,
            "calibration": {"batches": len(self.calib), "batch_size": self.cfg.train.batch_size,
                            "seed": self.calib_seed}
            if recalibrates else None,
            "held_out": {"images": self.n_eval, "batch_size": e.batch_size},
            "data_fingerprint": self.fingerprint,
            "finetune": {"batches": finetune.batches, "lr": finetune.lr, "seed": finetune.seed} if finetune else None,
            "runtime": {"device": self.rt.device.type, "precision": str(self.rt.describe()["amp"]),
                        # the layout as flagged before `wide` existed, so earlier score sets keep their identity
                        "channels_last": {"contiguous": False, "channels_last": True}.get(self.rt.layout,
                                                                                          self.rt.layout),
                        # CPU kernels sum in another order with another thread count: scores differ in the last bits
                        "threads": torch.get_num_threads() if self.rt.device.type == "cpu" else None},
            # a training protocol (schedule, sampler, averaged weights) other than the plain one, when there is one
            **({"training_protocol": protocol} if (protocol := protocol_settings(self.cfg.train)) else {}),
        }

    def score_set(self, finetune: FineTuning | None = None) -> str:
        return score_set_id(self.settings(finetune))

    def register(self, run: RunDir, finetune: FineTuning | None = None) -> str:
        """Record this scorer's score set in RUN/score_sets.json (kept as it is when already there); its id."""
        set_id = self.score_set(finetune)
        with _scores_lock(run):
            register_score_set(run.path, set_id, self.settings(finetune), eval=dataclasses.asdict(self.cfg.eval),
                               runtime=self.rt.describe(), provenance=provenance())
        return set_id

    def load(self, run: RunDir, epoch: int) -> None:
        """Put the supernet weights of checkpoint `epoch` into the model (once per epoch): the one supernet, or the
        sub-supernets of a split few-shot checkpoint (wsnas.supernets.fewshot), each arch then scored on its own."""
        if epoch != self.epoch:
            state = load_checkpoint(checkpoint_path(run.checkpoint_dir, epoch), self.rt.device)
            self.model = loaded_supernet(self.supernet, state, self.space)
            self.epoch = epoch

    def score(self, arch: Any, finetune: FineTuning | None = None,
              hits: list[torch.Tensor] | None = None) -> dict[str, Any]:
        """One scores.csv row for `arch` at the loaded epoch, with the seconds it took (not part of the score).
        With `hits`, the per-image correctness on the held-out batches is appended to it."""
        key = self.space.format(arch)
        return next(self.score_many([arch], finetune, {key: hits} if hits is not None else None))

    def score_many(self, archs: Sequence[Any], finetune: FineTuning | None = None,
                   hits: dict[str, list[torch.Tensor]] | None = None) -> Iterator[dict[str, Any]]:
        """A scores.csv row for every arch, each as soon as it is scored; `seconds` is the time since the previous
        row. Archs are scored together (wsnas.supernets.stages: the steps of their paths that several share are
        computed once) in the order that shares most; every score is bit-identical to scoring the subnet alone,
        whatever the other archs. Fine-tuned subnets (their weights differ) and supernets without stages are
        scored one by one, each under an RNG seeded by eval.seed and its key (anything random in scoring, e.g.
        dropout during fine-tuning, is the same whichever subnets were scored before it); staged scoring draws no
        random numbers. With `hits` (arch key -> list), each arch's per-image correctness is appended there.
        A split few-shot supernet scores each arch on the sub-supernet that covers it (fewshot.route_groups)."""
        keys = [self.space.format(arch) for arch in archs]
        began = time.perf_counter()
        for model, indices in route_groups(self.model, archs):
            for i, acc, loss in self._scores(model, [archs[j] for j in indices], [keys[j] for j in indices],
                                             finetune, hits):
                j = indices[i]
                yield self._row(archs[j], keys[j], acc, loss, finetune, time.perf_counter() - began)
                began = time.perf_counter()

    def _scores(self, model: nn.Module, archs: Sequence[Any], keys: Sequence[str], finetune: FineTuning | None,
                hits: dict[str, list[torch.Tensor]] | None) -> Iterable[tuple[int, float, float]]:
        """(index, accuracy, loss) of each of `archs` on the supernet `model`: staged, or one by one."""
        if finetune is not None or not hasattr(model, "stages"):
            return ((i, *self._alone(model, arch, key, finetune, hits.get(key) if hits else None))
                    for i, (arch, key) in enumerate(zip(archs, keys)))
        return score_staged(model, archs, self.calib, self.evaluation, self.rt, self.cfg.eval.bn_policy,
                            hits=[hits.get(key) for key in keys] if hits else None)

    def _alone(self, model: nn.Module, arch: Any, key: str, finetune: FineTuning | None,
               hits: list[torch.Tensor] | None) -> tuple[float, float]:
        """One subnet scored on its own (score_subnet) under the RNG seeded by eval.seed and its key."""
        devices = [self.rt.device] if self.rt.device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(subnet_seed(self.cfg.eval.seed, key))
            return score_subnet(model, arch, self.calib, self.evaluation, self.rt, self.cfg.eval.bn_policy,
                                finetune, hits)

    def _row(self, arch: Any, key: str, acc: float, loss: float, finetune: FineTuning | None,
             seconds: float) -> dict[str, Any]:
        policy = self.cfg.eval.bn_policy
        return {KEY: key, ARCH_INDEX: self.index_of(key) if self.index_of else None,
                FUNCTION_KEY: str(self.space.function_key(arch)), EPOCH: self.epoch,
                SCORE_SET: self.score_set(finetune), BN_POLICY: policy,
                CALIB_BATCHES: len(self.calib) if policy == "recalibrate" else 0,
                FINETUNE: finetune.batches if finetune else 0, N_EVAL: self.n_eval,
                SUPERNET_ACC: acc, SUPERNET_LOSS: loss, SECONDS: seconds}


def eval_epochs(cfg: Config, run: RunDir) -> list[int]:
    """Checkpoints to score: eval.epochs, else the newest."""
    saved = saved_epochs(run.checkpoint_dir)
    if not saved:
        raise WsnasError(f"run {run.path} has no checkpoint; train it first (`wsnas train --run-dir {run.path}`)")
    wanted = cfg.eval.epochs or [saved[-1]]
    missing = [e for e in wanted if e not in saved]
    if missing:
        raise WsnasError(f"no checkpoint for epochs {missing} in {run.checkpoint_dir}; saved epochs: {saved} "
                         f"(keep more with train.checkpoint_every)")
    return wanted


def evaluate_run(cfg: Config, run: RunDir, log=print, index_of=None, shard: Shard | None = None,
                 flush_every: int = FLUSH_EVERY) -> pd.DataFrame:
    """Score cfg.eval.n_archs sampled archs at each chosen checkpoint; resumes, writing scores.csv as it goes.

    `index_of(key)` optionally adds the benchmark index of each arch to the table. With `shard` (by default,
    under torchrun, shard RANK/WORLD_SIZE) only that part of the sample is scored, into
    RUN/shards/scores-<i>-of-<n>.csv; once the shards and scores.csv together hold every score of the sample,
    they are merged into scores.csv. Results are written atomically, under the run's lock, every `flush_every`
    subnets; a rerun scores only what is missing from scores.csv and the shard files. Returns scores.csv's
    table, or the shard's while other shards are missing.
    """
    world = launched_world()
    if shard is None and world.size > 1:
        shard = Shard(world.rank, world.size)
    space = get_space(cfg.space)
    e = cfg.eval
    if e.sample not in ("uniform", "unique"):
        raise WsnasError(f"eval.sample={e.sample!r}; choose uniform or unique")
    if flush_every < 1:
        raise WsnasError(f"--flush-every {flush_every}: write results every 1 or more subnets")
    archs = evaluation_archs(cfg, run)
    epochs = eval_epochs(cfg, run)
    mine = shard.select(archs) if shard else archs
    target = shard.path(run) if shard else run.scores_path
    rt = rank_runtime(autotuned_runtime(cfg, "evaluate", run, log), world)  # the run's recorded choice, if any
    scorer = SubnetScorer(cfg, rt, index_of)
    finetune = FineTuning.from_config(cfg, scorer.train_set)
    set_id = scorer.register(run, finetune)
    _announce_set(run, set_id, log)
    todo = _missing(space, mine, epochs, set_id, _existing(run))
    total = sum(map(len, todo.values()))
    if total == 0:
        log(f"[evaluate] all {len(mine)} archs{f' of shard {shard}' if shard else ''} x epochs {epochs} already "
            f"scored in score set {set_id}")
        return _finish(run, space, archs, epochs, set_id, shard, log)
    log(f"[evaluate] {total} subnet scores to compute ({len(archs)} archs, epochs {epochs}), {scorer.describe()}")
    rows: list[dict[str, Any]] = []
    bar = tqdm(total=total, desc="evaluate" + (f" {shard}" if shard else ""), unit="subnet",
               disable=not cfg.runtime.progress or not world.is_main, dynamic_ncols=True)
    began = time.perf_counter()
    with bar:
        for epoch, pending in todo.items():
            if pending:
                scorer.load(run, epoch)
            for row in scorer.score_many(pending, finetune):
                rows.append(row)
                bar.update(1)
                if len(rows) % flush_every == 0:
                    _merge_scores(run, rows, target)
    seconds = time.perf_counter() - began
    log(f"[evaluate] {len(rows)} subnets in {seconds:.1f}s ({60 * len(rows) / max(seconds, 1e-9):.0f} subnets/min)")
    _merge_scores(run, rows, target)
    return _finish(run, space, archs, epochs, set_id, shard, log)


def evaluation_archs(cfg: Config, run: RunDir) -> list[Any]:
    """The archs `wsnas evaluate` scores for a run: eval.n_archs drawn with eval.seed from the whole space, or
    from the run's arch pool (RUN/arch_pool.txt) when it was trained on one, less the run's landmarks
    (RUN/landmarks.txt: their truth fed its training)."""
    space = configured_space(cfg)
    return evaluation_sample(space, cfg.eval, saved_arch_pool(run, space), read_landmarks(run.path))


def _announce_set(run: RunDir, set_id: str, log) -> None:
    """Say which score set this evaluation writes, and how it differs from the run's other score sets."""
    sets = read_score_sets(run.path)
    others = {k: v for k, v in sets.items() if k != set_id}
    if not others:
        return
    mine = sets[set_id]["settings"]
    log(f"[evaluate] score set {set_id}; kept apart from the run's other score sets: "
        + " | ".join(f"{k}: {settings_difference(v['settings'], mine)}" for k, v in others.items()))


def merge_shards(run: RunDir, log=print) -> pd.DataFrame:
    """Merge every shard file of `run` (with what scores.csv already holds) into scores.csv, atomically."""
    with _scores_lock(run):
        if not _shard_paths(run):
            raise WsnasError(f"run {run.path} has no shard files ({run.path / SHARDS_DIR}/scores-<i>-of-<n>.csv); "
                             f"score shards with `wsnas evaluate {run.path} --shard i/n` first")
        table = _union(_score_tables(run))
        run.write_table(run.scores_path, table)
    log(f"[evaluate] merged {len(_shard_paths(run))} shard files: {len(table)} scores in {run.scores_path}")
    return table


def _finish(run: RunDir, space, archs: Sequence[Any], epochs: list[int], set_id: str, shard: Shard | None,
            log) -> pd.DataFrame:
    """Merge everything into scores.csv once it holds every score of the sample; else return the shard's table."""
    with _scores_lock(run):
        table = _union(_score_tables(run))
        missing = sum(map(len, _missing(space, archs, epochs, set_id, _score_keys(table)).values()))
        if missing == 0:
            run.write_table(run.scores_path, table)
    if missing == 0:
        log(f"[evaluate] scores: {run.scores_path}")
        return table
    log(f"[evaluate] shard {shard}: scores in {shard.path(run)}; {missing} scores of the sample are in other shards "
        f"still to run; the last shard to finish merges them into scores.csv (or: wsnas evaluate {run.path} --merge)")
    return read_table(shard.path(run))


def _missing(space, archs: Sequence[Any], epochs: list[int], set_id: str,
             done: set[tuple[str, int, str]]) -> dict[int, list[Any]]:
    """Per epoch, the archs with no score of score set `set_id` in `done`."""
    return {ep: [a for a in archs if (space.format(a), ep, set_id) not in done] for ep in epochs}


def _score_keys(table: pd.DataFrame) -> set[tuple[str, int, str]]:
    return set(zip(table[KEY], table[EPOCH].astype(int), table[SCORE_SET]))


def _existing(run: RunDir) -> set[tuple[str, int, str]]:
    """Scores already in scores.csv or in any shard file."""
    return set().union(*map(_score_keys, _score_tables(run)))


def _shard_paths(run: RunDir) -> list[Path]:
    return sorted((run.path / SHARDS_DIR).glob(SHARD_GLOB))


def _score_tables(run: RunDir) -> list[pd.DataFrame]:
    """scores.csv (if any), then every shard file."""
    paths = ([run.scores_path] if run.scores_path.is_file() else []) + _shard_paths(run)
    return [read_scores_table(path) for path in paths]


def _union(tables: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """One row per score; a later table's row wins."""
    if not tables:
        return pd.DataFrame(columns=SCORE_KEY)
    table = pd.concat(tables, ignore_index=True)
    table = table.drop_duplicates(SCORE_KEY, keep="last").sort_values([EPOCH, BN_POLICY, SCORE_SET, KEY])
    return table.reset_index(drop=True)


def _merge_scores(run: RunDir, rows: Iterable[dict[str, Any]], target: Path) -> pd.DataFrame:
    """Union of the table at `target` (scores.csv or a shard file) and `rows` (new rows win), written atomically
    under the run's lock."""
    new = pd.DataFrame(list(rows))
    timings = new[[*SCORE_KEY, SECONDS]] if SECONDS in new.columns else None
    with _scores_lock(run):
        saved = [read_scores_table(target)] if target.is_file() else []
        table = _union([*saved, new.drop(columns=SECONDS, errors="ignore")])
        run.write_table(target, table)
        if timings is not None and len(timings):
            _append_timings(run, timings)
    return table


def _append_timings(run: RunDir, timings: pd.DataFrame) -> None:
    """Add the seconds of newly scored subnets to RUN/score_timings.csv (wall clock, so not in scores.csv)."""
    path = run.path / SCORE_TIMINGS
    saved = [read_table(path)] if path.is_file() else []
    table = pd.concat([*saved, timings], ignore_index=True).drop_duplicates(SCORE_KEY, keep="last")
    run.write_table(path, table)


@contextmanager
def _scores_lock(run: RunDir) -> Iterator[None]:
    """Hold the run's lock on its score files, so read-modify-writes by concurrent processes lose nothing."""
    with open(run.path / SCORES_LOCK, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # released when the file closes
        yield
