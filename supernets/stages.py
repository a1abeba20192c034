"""Scoring many subnets at once: each part of their paths that several of them share is computed once, exactly.

A supernet may split the forward of one arch into steps (`model.stages(arch)`, a list of `Step`): each step
computes one output from the outputs of earlier steps (or the images), and its `key` names everything that
determines that output (NB201: the stem; in the first cell each live op, keyed by its edge, op and the key of its
input, and each node's sum; then the rest of the network keyed by the live plan. Macro: one step per layer,
keyed by the layer prefix). Two archs whose steps have equal keys share that step's output, and since a
BatchNorm layer's recalibrated statistics depend only on the path before it, its recalibration too.

`score_staged` scores the archs one after another, in an order that puts archs sharing steps next to each
other, and keeps each step's output only until the last arch that uses it. A step runs over the calibration
batches in train mode (its BN running statistics reset and re-estimated as a cumulative average, exactly as
`recalibrate_bn` does over the whole path), then over the held-out batches in eval mode. Every tensor operation is
the one the whole-path forward runs, on the same inputs, in the same order per BN layer, so every score is
bit-identical to `score_subnet`'s and does not depend on which other archs are scored alongside
(tests/test_stages.py). A supernet without `stages` is one step per arch, the whole forward: nothing is shared.
"""
from __future__ import annotations

import functools
import operator
from dataclasses import dataclass
from typing import Any, Callable, Hashable, Iterable, Iterator, Sequence

import torch
from torch import nn

from wsnas.supernets.runtime import Runtime

Batches = Sequence[tuple[torch.Tensor, torch.Tensor]]
Outputs = tuple[list[Any], list[Any]]  # a step's outputs: one per calibration batch, one per held-out batch
IMAGES = ("images",)  # the input key: the image batches


@dataclass(frozen=True)
class Step:
    """One step of an arch's forward: `run(*outputs of inputs)`. The last step of an arch returns its logits.
    `key` identifies the output (equal keys: the same computation on the same data); `modules` hold every
    BatchNorm layer the step runs, which no other step of the arch runs."""

    key: Hashable
    run: Callable[..., Any]
    inputs: tuple[Hashable, ...]
    modules: tuple[nn.Module, ...]


def add_in_order(*terms: torch.Tensor) -> torch.Tensor:
    """((a + b) + c) + ...: a sum in the order a forward adds its terms one at a time."""
    return functools.reduce(operator.add, terms)


def whole_forward(model: nn.Module, arch: Any, position: int) -> list[Step]:
    """The whole forward of one arch as its only step (shared with no other arch)."""
    return [Step(("arch", position), lambda x: model(x, arch), (IMAGES,), (model,))]


def steps_of(model: nn.Module, arch: Any, position: int) -> list[Step]:
    """`model.stages(arch)` when the supernet defines it, else the whole forward."""
    return model.stages(arch) if hasattr(model, "stages") else whole_forward(model, arch, position)


def score_staged(model: nn.Module, archs: Sequence[Any], calib: Batches, evaluation: Batches, rt: Runtime,
                 bn_policy: str, memory_budget: int | None = None, log: Callable[[str], None] = print,
                 hits: Sequence[list[torch.Tensor] | None] | None = None) -> Iterator[tuple[int, float, float]]:
    """(position in `archs`, top-1 accuracy %, mean cross-entropy) of every arch under `bn_policy` (recalibrate,
    inherit or batch), archs that share steps one after another; archs with the same last step (the same
    function of the same weights) share their score. With `hits` (one list or None per arch), each arch's
    per-image correctness on the held-out batches is appended to its list.

    Outputs kept for later archs take at most about `memory_budget` bytes (default: a quarter of the memory free
    on the device, checked once the first arch is scored); where sharing would need more, the other archs are
    scored whole, each on its own (logged)."""
    paths = [steps_of(model, arch, i) for i, arch in enumerate(archs)]
    order = sorted(range(len(archs)), key=lambda i: [repr(step.key) for step in paths[i]])
    last_use: dict[Hashable, int] = {}
    for rank, i in enumerate(order):
        for step in paths[i]:
            for key in (step.key, *step.inputs):
                last_use[key] = rank
    cache: dict[Hashable, Outputs] = {IMAGES: ([x for x, _ in calib], [x for x, _ in evaluation])}
    labels = [y for _, y in evaluation]
    scores: dict[Hashable, tuple[float, float]] = {}
    rights: dict[Hashable, list[torch.Tensor]] = {}  # per-image correctness of each last step, when asked for
    model.eval()  # dropout off; each step switches its own BN layers as the policy says
    for rank, i in enumerate(order):
        last = paths[i][-1].key
        if last not in scores:
            with torch.no_grad():  # not held across the yield: the caller's autograd mode stays its own
                for step in paths[i]:
                    if step.key not in cache:
                        cache[step.key] = run_step(step, [cache[key] for key in step.inputs], rt, bn_policy)
                scores[last] = tally(zip(cache[last][1], labels), rt, rights.setdefault(last, []) if hits else None)
        if hits and hits[i] is not None:
            hits[i].extend(rights[last])
        yield i, *scores[last]
        if rank == 0 and len(order) > 1:
            kept = _most_kept(paths, order, last_use) * max(_bytes(out) for out in cache.values())
            budget = _free_memory(rt.device) // 4 if memory_budget is None else memory_budget
            if kept > budget:
                log(f"[evaluate] sharing steps between {len(archs)} subnets would keep about {kept / 2**30:.1f} GiB "
                    f"of outputs (budget {budget / 2**30:.1f} GiB): the others are scored whole, one by one")
                cache = {IMAGES: cache[IMAGES]}
                paths = [whole_forward(model, arch, k) for k, arch in enumerate(archs)]
                last_use = {IMAGES: len(order)} | {paths[k][0].key: r for r, k in enumerate(order)}
        for step in paths[i]:
            for key in (step.key, *step.inputs):
                if last_use[key] == rank and key != IMAGES:
                    cache.pop(key, None)


def _most_kept(paths: list[list[Step]], order: list[int], last_use: dict[Hashable, int]) -> int:
    """The largest number of step outputs held at once when the archs are scored in `order`."""
    first_use: dict[Hashable, int] = {}
    for rank, i in enumerate(order):
        for step in paths[i]:
            first_use.setdefault(step.key, rank)
    held = [0] * (len(order) + 1)
    for key, rank in first_use.items():
        held[rank] += 1
        held[last_use[key] + 1] -= 1
    most, running = 0, 0
    for change in held:
        running += change
        most = max(most, running)
    return most


def _bytes(outputs: Any) -> int:
    """Bytes of the tensors in a (nested) list or tuple."""
    if isinstance(outputs, torch.Tensor):
        return outputs.numel() * outputs.element_size()
    return sum(_bytes(item) for item in outputs) if isinstance(outputs, (list, tuple)) else 0


def _free_memory(device: torch.device) -> int:
    """Bytes free on the device: CUDA's free memory, else the host's MemAvailable (all of it when unknown)."""
    if device.type == "cuda":
        return torch.cuda.mem_get_info(device)[0]
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 1 << 62


def run_step(step: Step, inputs: list[Outputs], rt: Runtime, bn_policy: str) -> Outputs:
    """The step's outputs on the calibration batches (recalibrate: its BN statistics re-estimated there, in train
    mode; other policies: none) and then on the held-out batches (BN as the policy says)."""
    bns = [m for module in step.modules for m in module.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    calib: list[Any] = []
    with rt.autocast():
        if bn_policy == "recalibrate":
            momenta = [bn.momentum for bn in bns]
            for bn in bns:
                bn.reset_running_stats()
                bn.momentum = None  # cumulative moving average: every calibration batch weighs the same
                bn.train()
            calib = [step.run(*xs) for xs in zip(*(c for c, _ in inputs))]
            for bn, momentum in zip(bns, momenta):
                bn.momentum = momentum
                bn.eval()
        elif bn_policy == "batch":
            for bn in bns:
                bn.train()
                bn.track_running_stats = False  # batch statistics; running ones (and their counter) untouched
        held_out = [step.run(*xs) for xs in zip(*(h for _, h in inputs))]
    for bn in bns:
        bn.eval()
        bn.track_running_stats = True
    return calib, held_out


def tally(logits_and_labels: Iterable[tuple[torch.Tensor, torch.Tensor]], rt: Runtime,
          hits: list[torch.Tensor] | None = None) -> tuple[float, float]:
    """Top-1 accuracy (%) and mean cross-entropy over (logits, labels) batches, taken (and, for a generator,
    computed) under the runtime's autocast: the one sum of every held-out score. With `hits`, each batch's
    per-image correctness (bool, on the CPU) is appended to it."""
    correct = torch.zeros((), dtype=torch.long, device=rt.device)
    loss = torch.zeros((), device=rt.device)
    count = 0
    with rt.autocast():
        for logits, y in logits_and_labels:
            logits = logits.float()
            right = logits.argmax(1) == y
            correct += right.sum()
            if hits is not None:
                hits.append(right.cpu())
            loss += nn.functional.cross_entropy(logits, y, reduction="sum")
            count += len(y)
    return 100.0 * correct.item() / count, loss.item() / count


def sharing(model: nn.Module, archs: Sequence[Any]) -> dict[str, int]:
    """How much scoring `archs` together shares: steps on all their paths, distinct steps (those score_staged
    runs) and distinct last steps (functions of the supernet's weights)."""
    paths = [steps_of(model, arch, i) for i, arch in enumerate(archs)]
    keys = [step.key for path in paths for step in path]
    return {"archs": len(archs), "steps": len(keys), "distinct_steps": len(set(keys)),
            "distinct_functions": len({path[-1].key for path in paths})}
