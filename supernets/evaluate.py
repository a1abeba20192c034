"""Score sampled subnets on held-out data with an explicit BatchNorm policy, without rebuilding any model.

BN policies (logged with every score):
  recalibrate  reset running statistics, then accumulate a cumulative average over `calib_batches` fixed
               training batches (no augmentation, no gradients), then evaluate with those statistics (default);
  inherit      evaluate with the running statistics left by supernet training (shared by all paths);
  batch        evaluate with each evaluation batch's own statistics (running statistics untouched).
"""
from __future__ import annotations

import time
from typing import Any, Iterable, Sequence

import pandas as pd
import torch
from torch import nn
from tqdm.auto import tqdm

from wsnas.benchmarks.registry import get_space
from wsnas.config import Config
from wsnas.errors import WsnasError
from wsnas.runs import RunDir
from wsnas.supernets.checkpoints import checkpoint_path, load_checkpoint, saved_epochs
from wsnas.supernets.data import DeviceImages, prepare_split
from wsnas.supernets.runtime import Runtime, resolve_runtime
from wsnas.supernets.train import build_model

BN_POLICIES = ("recalibrate", "inherit", "batch")
SCORE_KEY = ["key", "epoch", "bn_policy"]
Batches = Sequence[tuple[torch.Tensor, torch.Tensor]]


def batch_norms(model: nn.Module) -> list[nn.modules.batchnorm._BatchNorm]:
    return [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]


@torch.no_grad()
def recalibrate_bn(model: nn.Module, arch: Any, batches: Batches, rt: Runtime) -> None:
    """Reset BN running stats and re-estimate them as a cumulative average over `batches` on `arch`'s path."""
    bns = batch_norms(model)
    momenta = [bn.momentum for bn in bns]
    for bn in bns:
        bn.reset_running_stats()
        bn.momentum = None  # cumulative moving average: every calibration batch weighs the same
    model.train()
    with rt.autocast():
        for x, _ in batches:
            model(x, arch)
    for bn, momentum in zip(bns, momenta):
        bn.momentum = momentum


@torch.no_grad()
def accuracy_and_loss(model: nn.Module, arch: Any, batches: Batches, rt: Runtime, bn_policy: str) -> tuple[float, float]:
    """Top-1 accuracy (%) and mean cross-entropy of `arch` over `batches` under the given BN mode."""
    bns = batch_norms(model)
    momenta = [bn.momentum for bn in bns]
    if bn_policy == "batch":
        model.train()
        for bn in bns:
            bn.momentum = 0.0  # use batch statistics, leave the running ones as they are
    else:
        model.eval()
    correct = torch.zeros((), dtype=torch.long, device=rt.device)
    loss = torch.zeros((), device=rt.device)
    count = 0
    with rt.autocast():
        for x, y in batches:
            logits = model(x, arch).float()
            correct += (logits.argmax(1) == y).sum()
            loss += nn.functional.cross_entropy(logits, y, reduction="sum")
            count += len(y)
    for bn, momentum in zip(bns, momenta):
        bn.momentum = momentum
    return 100.0 * correct.item() / count, loss.item() / count


def score_subnet(model: nn.Module, arch: Any, calib: Batches, evaluation: Batches, rt: Runtime,
                 bn_policy: str) -> tuple[float, float]:
    """One subnet's held-out accuracy and loss, sharing the supernet's weights (nothing is rebuilt)."""
    if bn_policy not in BN_POLICIES:
        raise WsnasError(f"unknown BN policy {bn_policy!r}; choose one of {', '.join(BN_POLICIES)}")
    if bn_policy == "recalibrate":
        recalibrate_bn(model, arch, calib, rt)
    return accuracy_and_loss(model, arch, evaluation, rt, bn_policy)


def materialize(data: DeviceImages, batch_size: int, limit: int | None, seed: int, rt: Runtime,
                shuffle: bool) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Fixed batches (no augmentation) held on the device, reused for every subnet."""
    gen = torch.Generator().manual_seed(seed)
    out = []
    for x, y in data.batches(batch_size, shuffle=shuffle, augment=False, generator=gen, drop_last=False,
                             channels_last=rt.channels_last):
        out.append((x, y))
        if limit is not None and len(out) >= limit:
            break
    return out


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


def evaluate_run(cfg: Config, run: RunDir, log=print, index_of=None) -> pd.DataFrame:
    """Score cfg.eval.n_archs sampled archs at each chosen checkpoint; resumes, writing scores.csv as it goes.

    `index_of(key)` optionally adds the benchmark index of each arch to the table.
    """
    rt = resolve_runtime(cfg.runtime)
    space = get_space(cfg.space)
    e = cfg.eval
    if e.sample not in ("uniform", "unique"):
        raise WsnasError(f"eval.sample={e.sample!r}; choose uniform or unique")
    archs = space.sample(e.n_archs, e.seed, unique_functions=e.sample == "unique")
    epochs = eval_epochs(cfg, run)
    done = _existing(run)
    todo = {ep: [a for a in archs if (space.format(a), ep, e.bn_policy) not in done] for ep in epochs}
    total = sum(map(len, todo.values()))
    if total == 0:
        log(f"[evaluate] all {len(archs)} archs x epochs {epochs} already scored with bn_policy={e.bn_policy}")
        return run.read_scores()
    train_set, valid_set = prepare_split(cfg.data, rt.device)
    calib = materialize(train_set, cfg.train.batch_size, e.calib_batches, e.seed, rt, shuffle=True)
    evaluation = materialize(valid_set, e.batch_size, None, e.seed, rt, shuffle=False)
    log(f"[evaluate] {total} subnet scores to compute ({len(archs)} archs, epochs {epochs}), bn_policy={e.bn_policy}, "
        f"calibration {len(calib)}x{cfg.train.batch_size} train images, {len(valid_set)} held-out images, {rt.describe()}")
    model = build_model(cfg, rt)
    rows: list[dict[str, Any]] = []
    bar = tqdm(total=total, desc="evaluate", unit="subnet", disable=not cfg.runtime.progress, dynamic_ncols=True)
    began = time.perf_counter()
    with bar:
        for epoch, pending in todo.items():
            if not pending:
                continue
            model.load_state_dict(load_checkpoint(checkpoint_path(run.checkpoint_dir, epoch), rt.device)["model"])
            for i, arch in enumerate(pending):
                acc, loss = score_subnet(model, arch, calib, evaluation, rt, e.bn_policy)
                key = space.format(arch)
                rows.append({"key": key, "index": index_of(key) if index_of else None,
                             "function_key": str(space.function_key(arch)), "epoch": epoch,
                             "bn_policy": e.bn_policy, "calib_batches": len(calib) if e.bn_policy == "recalibrate" else 0,
                             "n_eval": len(valid_set), "supernet_acc": acc, "supernet_loss": loss})
                bar.update(1)
                if len(rows) % 100 == 0:
                    _merge_scores(run, rows)
    seconds = time.perf_counter() - began
    log(f"[evaluate] {len(rows)} subnets in {seconds:.1f}s ({60 * len(rows) / max(seconds, 1e-9):.0f} subnets/min)")
    return _merge_scores(run, rows)


def _existing(run: RunDir) -> set[tuple[str, int, str]]:
    if not run.scores_path.is_file():
        return set()
    table = run.read_scores()
    return set(zip(table.key, table.epoch.astype(int), table.bn_policy))


def _merge_scores(run: RunDir, rows: Iterable[dict[str, Any]]) -> pd.DataFrame:
    """Union of the saved scores and `rows` (new rows win), written atomically."""
    new = pd.DataFrame(list(rows))
    table = pd.concat([run.read_scores(), new], ignore_index=True) if run.scores_path.is_file() else new
    table = table.drop_duplicates(SCORE_KEY, keep="last").sort_values(["epoch", "bn_policy", "key"])
    run.write_table(run.scores_path, table)
    return table
