"""`wsnas bench`'s evaluation row: subnets/min of SubnetScorer (staged, at its autotuned runtime and in fp32
contiguous) against a naive evaluator (a standalone network rebuilt per subnet, DataLoader input) on the same
weights, archs and images; the fp32 accuracies must be identical."""
from __future__ import annotations

from typing import Any, Callable

from wsnas.benchmarks.registry import get_space
from wsnas.core.config import Config
from wsnas.core.run_files import KEY, SUPERNET_ACC, SUPERNET_LOSS
from wsnas.supernets.bench.measure import interleave, paired, summary, timed
from wsnas.supernets.bench.sizes import Size, silent

Agreement = Callable[[list[float], list[float]], float]  # a rank agreement of two score lists (Kendall's tau)


class BenchMismatch(RuntimeError):
    """wsnas and the naive evaluator disagree on a subnet's accuracy: a bug, never a measurement."""


def eval_row(cfg: Config, run, plain, size: Size, workers: int,
             agreement: Agreement) -> tuple[dict[str, Any], dict[str, Any], list[Any]]:
    """Subnets/min of SubnetScorer (at its autotuned runtime, and in fp32 contiguous) and of the naive evaluator
    on the same checkpoint, archs and images, interleaved; raises BenchMismatch unless the fp32 accuracies are
    identical. `agreement(tuned, fp32)` ranks the autotuned runtime's accuracies against the fp32 ones (the
    workflow passes Kendall's tau). Returns the row, the scorers and the archs."""
    from wsnas.supernets.autotune import autotuned_runtime
    from wsnas.supernets.evaluate import SubnetScorer
    from wsnas.supernets.stages import sharing

    space, epoch = get_space(cfg.space), cfg.train.epochs
    archs = space.sample(size.eval_subnets + 1, cfg.eval.seed)  # the first one warms up
    tuned = autotuned_runtime(cfg, "evaluate", None, log=silent)
    scorers = {"wsnas": SubnetScorer(cfg, tuned), "wsnas_fp32": SubnetScorer(cfg, plain)}
    for scorer in scorers.values():
        scorer.load(run, epoch)
        list(scorer.score_many(archs[:1]))
    naive, naive_workers = _fastest_naive(cfg, run, plain, archs[0], workers)
    results: dict[str, list[tuple[float, float]]] = {}

    def staged(name: str) -> Callable[[int], float]:
        def run_(round_: int) -> float:
            with timed(scorers[name].rt.device) as clock:
                rows = {r[KEY]: r for r in scorers[name].score_many(archs[1:])}
            results[name] = [(rows[k][SUPERNET_ACC], rows[k][SUPERNET_LOSS]) for k in map(space.format, archs[1:])]
            return 60 * len(rows) / clock["seconds"]
        return run_

    def one_by_one(round_: int) -> float:
        with timed(plain.device) as clock:
            results["naive"] = [naive.score(arch) for arch in archs[1:]]
        return 60 * len(archs[1:]) / clock["seconds"]

    values = interleave({"wsnas": staged("wsnas"), "wsnas_fp32": staged("wsnas_fp32"), "naive": one_by_one},
                        size.rounds)
    loss_diff = 0.0
    for arch, (acc, loss), (naive_acc, naive_loss) in zip(archs[1:], results["wsnas_fp32"], results["naive"]):
        if acc != naive_acc:
            raise BenchMismatch(f"arch {space.format(arch)}: wsnas accuracy {acc}% but the naive evaluator's "
                                f"{naive_acc}% on the same weights and images")
        loss_diff = max(loss_diff, abs(loss - naive_loss))
    tuned_acc, naive_acc = [a for a, _ in results["wsnas"]], [a for a, _ in results["naive"]]
    scorer = scorers["wsnas"]
    row = {"space": cfg.space, "C": cfg.model.C, "N": cfg.model.N, "epoch": epoch, "subnets": len(archs) - 1,
           "rounds": size.rounds, "calib_images": sum(len(y) for _, y in scorer.calib), "eval_images": scorer.n_eval,
           "sharing": sharing(scorer.model, archs[1:]),
           **{name: {"subnets_per_min": summary(v), "runtime": (scorers[name].rt if name in scorers else plain)
                     .describe()} for name, v in values.items()},
           "naive_workers": naive_workers, "fp32_identical_accuracy": True, "fp32_max_abs_loss_diff": loss_diff,
           "tuned_vs_fp32": {"max_abs_acc_diff": max(abs(a - b) for a, b in zip(tuned_acc, naive_acc)),
                             "kendall_tau": agreement(tuned_acc, naive_acc)},
           "ratios": {"wsnas over naive": paired(values["wsnas"], values["naive"]),
                      "wsnas fp32 over naive (sharing alone)": paired(values["wsnas_fp32"], values["naive"]),
                      "wsnas over wsnas fp32 (runtime alone)": paired(values["wsnas"], values["wsnas_fp32"])},
           "archs": [space.format(a) for a in archs[1:]], "accuracies": tuned_acc}
    return row, scorers, archs


def _fastest_naive(cfg: Config, run, plain, arch: Any, workers: int) -> tuple[Any, int]:
    """The naive evaluator with the faster of 0 or `workers` DataLoader workers (in-process loading may beat
    worker processes on few cores), timed on one warm subnet each."""
    from wsnas.supernets.bench.dataloader_baselines import NaiveEvaluator, host_images, make_loader
    from wsnas.supernets.checkpoints import checkpoint_path, load_checkpoint
    from wsnas.supernets.registry import build_model, prepare_data, supernet_spec

    import torch

    e = cfg.eval
    train, valid = prepare_data(cfg.data, plain.device)
    # the calibration images SubnetScorer's materialize draws: the first of a seeded permutation
    order = torch.randperm(len(train), generator=torch.Generator().manual_seed(e.seed))
    calib = order[:e.calib_batches * cfg.train.batch_size].tolist()
    supernet = build_model(cfg, plain)
    supernet.load_state_dict(load_checkpoint(checkpoint_path(run.checkpoint_dir, cfg.train.epochs),
                                             plain.device)["model"])
    best: tuple[float, Any, int] | None = None
    for count in sorted({workers, 0}):
        naive = NaiveEvaluator(supernet, supernet_spec(cfg).extract,
                               make_loader(*host_images(train), cfg.train.batch_size, augment=False, workers=count,
                                           rt=plain, order=calib),
                               make_loader(*host_images(valid), e.batch_size, augment=False, workers=count, rt=plain),
                               plain)
        naive.score(arch)
        with timed(plain.device) as clock:
            naive.score(arch)
        if best is None or clock["seconds"] < best[0]:
            best = (clock["seconds"], naive, count)
    return best[1], best[2]
