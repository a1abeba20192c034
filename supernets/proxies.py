"""Zero-cost proxies: published training-free scores of each arch at initialisation, the free baselines a
supernet's ranking is judged against.

Every arch's network is `SupernetSpec.extract(supernet, arch)` from one supernet of the space, freshly initialised
with `ProxySettings.seed` (no trained weight is read), on the benchmark's own skeleton (the space's `paper`
preset model: NB201 C=16 N=5, macro/channel/graph at width 1.0) or the run's model (`skeleton="run"`). The data
are one fixed batch of `batch_size` training images (no augmentation), drawn with the same seed; for the graph
space, the benchmark's full graph with its train nodes as the batch. Each proxy runs on its own copy of the
arch's network, so no value depends on another proxy or on the archs computed before it.

    synflow    Tanaka et al. 2020, as Abdelfattah et al. 2021 ("Zero-cost proxies") compute it: every parameter
               made absolute, BatchNorm removed (identity; dropout off), all-ones input of one sample, in double
               precision; sum over weight tensors (>= 2 dims: conv kernels, linear and graph-layer weight
               matrices, the zero-cost code's Conv2d and Linear weights) of |w * dR/dw| with R the sum of the
               outputs. A net whose input indexes data held in the model (graph nodes) gets all-ones node
               features instead, R summed over the batch's nodes.
    naswot     Mellor et al. 2021: the binary code (x > 0) of every ReLU input over one batch, with BatchNorm on
               batch statistics as in a fresh network in training mode (dropout off); K = sum over ReLUs of
               c c^T + (1 - c)(1 - c)^T (units that agree, i.e. units minus Hamming distance); score log|det K|.
               Every call of relu (module, functional or tensor method) counts. An activation whose rows are
               not the batch's samples counts only when it covers the data the input indexes (graph nodes),
               read at the batch's indices. A net without any ReLU has no codes: NaN (logged).
    jacov      Mellor et al. 2020 (v1), as the zero-cost code computes it: the input gradient of the summed
               outputs per sample (BN on batch statistics), their correlation matrix's eigenvalues v, score
               -sum(log(v + 1e-5) + 1 / (v + 1e-5)); for graph nodes, the gradient at the node's feature row.
    snip       Lee et al. 2019: sum over weight tensors of |w * dL/dw|, L the batch's cross-entropy.
    grad_norm  Abdelfattah et al. 2021: sum over weight tensors of ||dL/dw||_2.

Values are float64; higher = predicted better for every proxy. A net whose output does not depend on its input
(e.g. an NB201 cell without a live path) gets each proxy's worst value: 0 for synflow, snip and grad_norm, -inf
for naswot (every sample has the same codes: K is singular) and jacov (the zero-cost code's correlations are
undefined there, NaN); rank -inf last, tied.
"""
from __future__ import annotations

import contextlib
import copy
import dataclasses
import hashlib
import json
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.overrides import TorchFunctionMode
from tqdm.auto import tqdm

from wsnas.benchmarks.registry import get_space
from wsnas.core.atomic import atomic_path, write_json
from wsnas.core.config import Config, build_config
from wsnas.core.errors import WsnasError
from wsnas.core.run_files import KEY, PROXIES as PROXIES_FILE
from wsnas.core.runs import RunDir, provenance, read_table
from wsnas.supernets.evaluate import batch_norms, evaluation_archs, materialize
from wsnas.supernets.proxy_cache import ProxyCache
from wsnas.supernets.registry import prepare_data, supernet_spec
from wsnas.supernets.runtime import resolve_runtime

FLUSH_EVERY = 20  # archs computed between writes of the table
SKELETONS = ("benchmark", "run")
JACOV_K = 1e-5  # the zero-cost code's eigenvalue offset
# One batch through one small network parallelises badly: one thread is as fast on a quiet machine and far faster
# on a busy one, and it makes the values the same whatever the machine's core count.
THREADS = 1


class ProxyError(WsnasError):
    """Proxy settings or a proxy table that cannot be used as asked."""


@dataclass(frozen=True)
class ProxySettings:
    """What a proxy value depends on besides the arch (saved in proxies.config.json)."""

    proxies: tuple[str, ...] = ("synflow", "naswot")
    skeleton: str = "benchmark"   # benchmark: the space's paper-preset model; run: the run's model.*
    batch_size: int = 64          # images per batch (naswot, jacov, snip, grad_norm); the graph uses its train nodes
    seed: int = 0                 # supernet initialisation and the batch

    def __post_init__(self) -> None:
        unknown = [p for p in self.proxies if p not in PROXIES]
        if unknown or not self.proxies:
            raise ProxyError(f"unknown proxy {', '.join(map(repr, unknown)) or '(none given)'}; choose from "
                             f"{', '.join(PROXIES)}, comma-separated (e.g. --proxies synflow,naswot)")
        if len(set(self.proxies)) != len(self.proxies):
            raise ProxyError(f"--proxies {','.join(self.proxies)} names a proxy twice; list each once")
        if self.skeleton not in SKELETONS:
            raise ProxyError(f"proxy skeleton {self.skeleton!r}; choose benchmark (the space's own network, the "
                             f"paper preset's model) or run (the run's model.* settings)")
        if self.batch_size < 2:
            raise ProxyError(f"proxy batch size {self.batch_size}: naswot and jacov compare samples, use 2 or more "
                             f"(the zero-cost paper used 64, NASWOT 128)")

    def to_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "proxies": list(self.proxies)}


# ------------------------------------------------------------------------------------------------ the batch


@dataclass(frozen=True)
class ProbeBatch:
    """One batch as the network takes it. `indexes_model_data`: x indexes rows of data the model holds (graph
    node ids into its node features), rather than being the samples themselves."""

    x: torch.Tensor
    y: torch.Tensor

    @property
    def indexes_model_data(self) -> bool:
        return not self.x.is_floating_point()

    def __len__(self) -> int:
        return len(self.x)

    def rows(self, activation: torch.Tensor) -> torch.Tensor | None:
        """The activation's row of each sample of the batch, flattened (None: not an activation of the samples)."""
        if activation.dim() > 0 and activation.shape[0] == len(self):
            return activation.reshape(len(self), -1)
        if self.indexes_model_data and activation.dim() > 0 and activation.shape[0] > int(self.x.max()):
            return activation[self.x].reshape(len(self), -1)
        return None


def model_data(net: nn.Module) -> dict[str, torch.Tensor]:
    """Floating-point data the model holds outside its state (non-persistent buffers, e.g. graph node features)."""
    state = net.state_dict()
    return {name: b for name, b in net.named_buffers() if b.is_floating_point() and name not in state}


def _replace_buffer(net: nn.Module, name: str, value: torch.Tensor) -> None:
    owner, _, leaf = name.rpartition(".")
    setattr(net.get_submodule(owner), leaf, value)


# ------------------------------------------------------------------------------------------------ the proxies


def weight_tensors(net: nn.Module) -> list[nn.Parameter]:
    """Parameters with two or more dimensions: conv kernels, linear and graph-layer weight matrices (the zero-cost
    code's Conv2d and Linear weights on a CNN); biases and BatchNorm vectors are left out."""
    return [p for p in net.parameters() if p.dim() >= 2]


def remove_batchnorm(net: nn.Module) -> None:
    """Replace every BatchNorm module by an identity (the zero-cost code's synflow convention)."""
    for parent in list(net.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, nn.modules.batchnorm._BatchNorm):
                setattr(parent, name, nn.Identity())


def batch_statistics(net: nn.Module) -> nn.Module:
    """Dropout off, BatchNorm normalising with each batch's own statistics (a fresh network in training mode)."""
    net.eval()
    for bn in batch_norms(net):
        bn.train()
    return net


def synflow(net: nn.Module, batch: ProbeBatch) -> float:
    """Sum over weight tensors of |w * dR/dw|: absolute weights, no BN, all-ones input, float64."""
    remove_batchnorm(net)
    net.eval().double()
    with torch.no_grad():
        for p in net.parameters():
            p.abs_()
    if batch.indexes_model_data:
        for name, data in model_data(net).items():
            _replace_buffer(net, name, torch.ones_like(data))
        x = batch.x
    else:
        x = torch.ones((1, *batch.x.shape[1:]), dtype=torch.float64, device=batch.x.device)
    net.zero_grad(set_to_none=True)
    net(x).sum().backward()
    return _sum(w.grad.mul(w).abs().sum() for w in weight_tensors(net) if w.grad is not None)


class ReluCodes(TorchFunctionMode):
    """Collects NASWOT's kernel while active: for every relu call, the binary codes of its input's samples."""

    RELUS = frozenset({torch.relu, torch.relu_, nn.functional.relu, nn.functional.relu_, torch.Tensor.relu,
                       torch.Tensor.relu_})

    def __init__(self, batch: ProbeBatch) -> None:
        super().__init__()
        self.batch = batch
        self.kernel = torch.zeros(len(batch), len(batch), dtype=torch.float64, device=batch.x.device)
        self.relus = 0

    def __torch_function__(self, func, types, args=(), kwargs=None):
        if func in self.RELUS:
            rows = self.batch.rows(args[0] if args else kwargs["input"])
            if rows is not None:
                self.add(rows > 0)
        return func(*args, **(kwargs or {}))

    def add(self, codes: torch.Tensor) -> None:
        """K += c c^T + (1 - c)(1 - c)^T = 2 c c^T - s_i - s_j + n, s_i the active units of sample i."""
        units = codes.shape[1]
        c = codes.to(torch.float64 if units >= 2 ** 24 else torch.float32)  # float32 counts exactly below 2^24
        active = c.sum(1, dtype=torch.float64)
        self.kernel += 2 * (c @ c.T).double() - active[:, None] - active[None, :] + units
        self.relus += 1


def naswot(net: nn.Module, batch: ProbeBatch) -> float:
    """log|det K| of the ReLU codes' kernel over the batch; NaN for a net without ReLU."""
    batch_statistics(net)
    with torch.no_grad(), ReluCodes(batch) as codes:
        net(batch.x)
    if codes.relus == 0:
        return math.nan
    return float(torch.linalg.slogdet(codes.kernel).logabsdet)


def jacov(net: nn.Module, batch: ProbeBatch) -> float:
    """-sum(log(v + k) + 1/(v + k)) over the eigenvalues v of the per-sample input gradients' correlations;
    -inf when a sample's gradient is constant (the net's output ignores its input)."""
    batch_statistics(net)
    if batch.indexes_model_data:
        for name, tensor in model_data(net).items():
            _replace_buffer(net, name, tensor.detach().clone().requires_grad_(True))
        net(batch.x).sum().backward()
        grads = [t.grad[batch.x].reshape(len(batch), -1) for t in model_data(net).values() if t.grad is not None]
    else:
        x = batch.x.detach().clone().requires_grad_(True)
        net(x).sum().backward()
        grads = [x.grad.reshape(len(batch), -1)] if x.grad is not None else []
    jacobian = torch.cat(grads, 1).double().cpu().numpy() if grads else None
    if jacobian is None or (jacobian.std(1) == 0).any():
        return -math.inf
    v = np.linalg.eigvalsh(np.corrcoef(jacobian))
    return float(-np.sum(np.log(v + JACOV_K) + 1.0 / (v + JACOV_K)))


def _loss_gradients(net: nn.Module, batch: ProbeBatch) -> list[nn.Parameter]:
    """The weight tensors after one backward pass of the batch's cross-entropy (BN on batch statistics)."""
    batch_statistics(net)
    net.zero_grad(set_to_none=True)
    nn.functional.cross_entropy(net(batch.x), batch.y).backward()
    return [w for w in weight_tensors(net) if w.grad is not None]


def snip(net: nn.Module, batch: ProbeBatch) -> float:
    """Sum over weight tensors of |w * dL/dw| (the gradient of the loss by a multiplicative mask at 1)."""
    return _sum(w.grad.mul(w).abs().sum() for w in _loss_gradients(net, batch))


def grad_norm(net: nn.Module, batch: ProbeBatch) -> float:
    """Sum over weight tensors of the L2 norm of dL/dw."""
    return _sum(w.grad.norm() for w in _loss_gradients(net, batch))


@torch.no_grad()
def _sum(values) -> float:
    return float(sum((v.double() for v in values), torch.zeros((), dtype=torch.float64)))


PROXIES: dict[str, Callable[[nn.Module, ProbeBatch], float]] = {
    "synflow": synflow, "naswot": naswot, "jacov": jacov, "snip": snip, "grad_norm": grad_norm}


# ------------------------------------------------------------------------------------------------ computing


def skeleton_config(cfg: Config, skeleton: str) -> Config:
    """cfg with the model the proxies run on: the run's, or the benchmark's own (the space's paper preset)."""
    if skeleton == "run":
        return cfg
    paper = build_config("paper", overrides={"space": cfg.space, "plugins": list(cfg.plugins)})
    return dataclasses.replace(cfg, model=paper.model)


def arch_seed(seed: int, key: str) -> int:
    """Seed of the global RNG while an arch's proxies run (an arch's value depends on it and the arch only)."""
    return int.from_bytes(hashlib.sha256(f"{seed}/{key}".encode()).digest()[:4], "big")


class ProxyComputer:
    """One supernet initialised with the settings' seed and one fixed batch, built once; `values(arch)` extracts
    the arch's network once and runs each proxy on its own copy."""

    def __init__(self, cfg: Config, settings: ProxySettings) -> None:
        self.settings = settings
        self.cfg = skeleton_config(cfg, settings.skeleton)
        self.space = get_space(cfg.space)
        self.spec = supernet_spec(self.cfg)
        self.rt = dataclasses.replace(resolve_runtime(cfg.runtime), amp_dtype=None, layout="contiguous")
        train_set, _ = prepare_data(cfg.data, self.rt.device)
        first = materialize(train_set, settings.batch_size, 1, settings.seed, self.rt, shuffle=True)[0]
        self.batch = ProbeBatch(*first)
        torch.manual_seed(settings.seed)
        self.supernet = self.spec.build(self.cfg).to(self.rt.device)
        self._storages = {p.untyped_storage().data_ptr() for p in self.supernet.parameters()}

    def describe(self) -> str:
        return (f"skeleton={self.settings.skeleton} model={dataclasses.asdict(self.cfg.model)}, batch of "
                f"{len(self.batch)}, seed {self.settings.seed}, {dict(self.rt.describe(), threads=str(THREADS))}")

    def network(self, arch: Any) -> nn.Module:
        """A fresh standalone network of `arch` with the supernet's initial weights."""
        net = self.spec.extract(self.supernet, arch)
        if any(p.untyped_storage().data_ptr() in self._storages for p in net.parameters()):
            raise ProxyError(f"the extract function of space {self.cfg.space!r} returns a network sharing weights with "
                             f"the supernet; proxies change a network's weights, so extract must copy them "
                             f"(e.g. tensor.clone(), as the built-in spaces do)")
        return net

    def values(self, arch: Any) -> dict[str, float]:
        """Each proxy of `arch`, on its own copy of the arch's network."""
        key, net = self.space.format(arch), self.network(arch)
        out = {}
        for name in self.settings.proxies:
            torch.manual_seed(arch_seed(self.settings.seed, key))
            out[name] = PROXIES[name](copy.deepcopy(net), self.batch)
        return out


def header_path(out: Path) -> Path:
    return out.with_name(out.name.removesuffix(".csv") + ".config.json")


def identity(cfg: Config, settings: ProxySettings) -> dict[str, Any]:
    """Everything a proxy value depends on: the settings, the space and its plugins, the network it runs on and
    the training split the batch is drawn from (not where the data are read from)."""
    d = cfg.data
    return {"proxies": settings.to_dict(), "space": cfg.space, "plugins": list(cfg.plugins), "threads": THREADS,
            "model": dataclasses.asdict(skeleton_config(cfg, settings.skeleton).model),
            "data": {"dataset": d.dataset, "n_train": d.n_train, "n_valid": d.n_valid, "split_seed": d.split_seed}}


def open_table(out: Path, cfg: Config, settings: ProxySettings) -> pd.DataFrame:
    """The rows OUT already holds (empty for a new table) once its saved settings match; the config is written
    before the first row, so every row was computed with the settings beside it."""
    header = header_path(out)
    wanted = identity(cfg, settings)
    columns = [KEY, *settings.proxies]
    if out.exists() and not header.is_file():
        raise ProxyError(f"{out} exists but {header} does not, so how it was computed is unknown; move {out} away "
                         f"and rerun")
    if not out.exists():
        write_json(header, {"identity": wanted, "config": cfg.to_dict(), "provenance": provenance()})
        return pd.DataFrame(columns=columns)
    try:
        saved = json.loads(header.read_text())["identity"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ProxyError(f"{header} is corrupt ({exc!r}); restore it, or move {out} and it away") from None
    diffs = _differences(saved, wanted)
    if diffs:
        flags = (f"--proxies {','.join(saved['proxies']['proxies'])} --skeleton {saved['proxies']['skeleton']} "
                 f"--batch-size {saved['proxies']['batch_size']} --proxy-seed {saved['proxies']['seed']}")
        raise ProxyError(f"{out} was computed with other settings ({'; '.join(diffs)}); rerun with the saved "
                         f"ones ({flags}), or move {out} and {header.name} away to start a new table")
    table = read_table(out)
    if list(table.columns) != columns:
        raise ProxyError(f"{out} has columns {list(table.columns)}, its settings {columns}; the table was edited: "
                         f"restore it, or move it and {header.name} away and rerun")
    return table


def _differences(saved: Any, wanted: Any, prefix: str = "") -> list[str]:
    if isinstance(saved, dict) and isinstance(wanted, dict):
        return [d for k in sorted(set(saved) | set(wanted))
                for d in _differences(saved.get(k), wanted.get(k), f"{prefix}{k}.")]
    return [] if saved == wanted else [f"{prefix.rstrip('.')}: saved {saved!r}, now {wanted!r}"]


def compute_proxies(cfg: Config, archs: Sequence[Any], out_path: str | Path,
                    settings: ProxySettings = ProxySettings(), log: Callable[[str], None] = print,
                    flush_every: int = FLUSH_EVERY) -> pd.DataFrame:
    """The proxies of `archs` (rows in key order: key, one column per proxy), computing only those OUT lacks and
    this machine's proxy cache (wsnas.supernets.proxy_cache) does not hold.

    OUT (a CSV) and OUT's config (`proxies.config.json` beside `proxies.csv`) are written atomically, the table
    every `flush_every` archs; a rerun with other settings is refused, naming them.
    """
    out = Path(out_path)
    space = get_space(cfg.space)
    supernet_spec(skeleton_config(cfg, settings.skeleton))  # no supernet or wrong dataset: fail before writing
    table = open_table(out, cfg, settings)
    keys = [space.format(a) for a in archs]
    done = set(table[KEY])
    todo = [(k, a) for k, a in zip(keys, archs) if k not in done]
    cache = ProxyCache(identity(cfg, settings), settings.proxies)
    cached = cache.lookup([k for k, _ in todo]) if todo else pd.DataFrame()
    if len(cached):
        table = _write(out, table, cached.to_dict("records"))
        log(f"[proxies] {len(cached)} of {len(archs)} archs from this machine's cache ({cache.path.parent})")
        held = set(cached[KEY])
        todo = [(k, a) for k, a in todo if k not in held]
    if todo:
        computer = ProxyComputer(cfg, settings)
        log(f"[proxies] {len(todo)} of {len(archs)} archs to compute ({', '.join(settings.proxies)}): "
            f"{computer.describe()}")
        rows: list[dict[str, Any]] = []
        began = time.perf_counter()
        bar = tqdm(total=len(todo), desc="proxies", unit="arch", disable=not cfg.runtime.progress, dynamic_ncols=True)
        with bar, _threads(THREADS):
            for key, arch in todo:
                rows.append({KEY: key, **computer.values(arch)})
                bar.update(1)
                if len(rows) % flush_every == 0:
                    table = _write(out, table, rows)
                    cache.add(pd.DataFrame(rows))
        table = _write(out, table, rows)
        cache.add(pd.DataFrame(rows))
        seconds = time.perf_counter() - began
        log(f"[proxies] {len(rows)} archs in {seconds:.1f}s ({seconds / len(rows):.3f} s/arch): {out}")
        undefined = {p: int(table[p].isna().sum()) for p in settings.proxies if table[p].isna().any()}
        if undefined:
            log(f"[proxies] undefined (NaN) values: {undefined} (naswot of a net without ReLU)")
    elif not len(cached):
        log(f"[proxies] all {len(archs)} archs already in {out}")
    wanted = table[table[KEY].isin(set(keys))]
    return wanted.sort_values(KEY).reset_index(drop=True)


@contextlib.contextmanager
def _threads(n: int) -> Iterator[None]:
    """torch's CPU threads set to n inside the block, restored after."""
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _write(out: Path, table: pd.DataFrame, rows: list[dict[str, Any]]) -> pd.DataFrame:
    """`table` with `rows` (one per key, in key order), written atomically."""
    new = pd.DataFrame(rows, columns=table.columns)
    merged = pd.concat([table, new], ignore_index=True) if len(table) else new
    merged = merged.drop_duplicates(KEY, keep="last").sort_values(KEY).reset_index(drop=True)
    with atomic_path(out) as tmp:
        merged.to_csv(tmp, index=False)
    return merged


def run_proxies(cfg: Config, run: RunDir, out_dir: str | Path | None = None,
                settings: ProxySettings = ProxySettings(), log: Callable[[str], None] = print) -> pd.DataFrame:
    """The proxies of the archs `wsnas evaluate RUN` scores (eval.n_archs, eval.seed, eval.sample, the run's arch
    pool), in OUT_DIR/proxies.csv (default: the run's directory; a replicate group shares one table, since no
    proxy depends on training)."""
    return compute_proxies(cfg, evaluation_archs(cfg, run), Path(out_dir or run.path) / PROXIES_FILE, settings, log)
