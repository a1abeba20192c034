"""Landmark regularisation (Yu, Ranftl & Salzmann, "Landmark Regularization: Ranking Guided Super-Net Training in
Neural Architecture Search", CVPR 2021; train.landmarks): the record, the draw of the landmarks from the ground
truth, and the run's file of them (RUN/landmarks.txt). The loss itself is wsnas.supernets.landmarks.

The landmarks are K archs whose truth the supernet training reads: they are drawn with train.landmark_seed from the
archs of the ground truth (those of the run's arch pool, when it trains on one) that have a value of the run's
analysis.truth, and written to RUN/landmarks.txt (key, tab, truth). Their truth feeds the training, so no
evaluation of the run scores them (wsnas.supernets.evaluate.evaluation_archs drops them from the sample) and the
run's analysis says how many truth labels it used.
"""
from __future__ import annotations

import math
import random
from pathlib import Path
from typing import Collection

from wsnas.benchmarks.groundtruth import GroundTruth
from wsnas.benchmarks.ranking_methods.record import RankingMethod
from wsnas.core.errors import WsnasError
from wsnas.core.run_files import LANDMARKS

METHOD = RankingMethod(
    name="landmarks",
    summary="K archs with known truth (landmarks); every train.landmark_every steps, train.landmark_pairs pairs of "
            "them are drawn and a hinge loss on their losses on the current batch (the truly better arch should "
            "have the lower loss, by train.landmark_margin) is added, times train.landmark_weight",
    source="Yu, Ranftl & Salzmann, Landmark Regularization: Ranking Guided Super-Net Training in Neural "
           "Architecture Search, CVPR 2021 (arXiv:2104.05309)",
    published="a small set of landmark archs trained stand-alone; a pairwise ranking regulariser on the super-net's "
              "performance of landmark pairs, added to the super-net loss with a coefficient; a few random pairs "
              "per step instead of all M^2 (O(m) cost); the paper further grows the landmark set over search "
              "iterations, which wsnas does not. wsnas's defaults (K set by the user, weight 1, margin 0.05, one "
              "pair every step) are wsnas's choices, not values transcribed from the paper",
    config="train.landmarks (K, 0 = off), train.landmark_weight, train.landmark_every, train.landmark_pairs, "
           "train.landmark_margin, train.landmark_seed; wsnas.supernets.landmarks",
    cost="2 x train.landmark_pairs extra forward+backward passes every train.landmark_every steps, counted as "
         "training time (train_log.csv seconds); K truth labels, and K fewer archs scored",
    truth_labels=True,
)


def draw_landmarks(truth: GroundTruth, metric: str, k: int, seed: int,
                   keys: Collection[str] | None = None) -> list[tuple[str, float]]:
    """(key, truth value) of `k` archs drawn with `seed` from the truth's archs with a value of `metric` (only
    those in `keys`, when given), in the order drawn."""
    values = truth.frame[metric].to_numpy(dtype=float)
    candidates = [(str(key), float(value)) for key, value in zip(truth.frame["key"], values)
                  if math.isfinite(value) and (keys is None or key in keys)]
    if k > len(candidates):
        raise WsnasError(f"train.landmarks={k}, but only {len(candidates)} archs of the run have a {metric} truth "
                         f"value to draw landmarks from; choose train.landmarks <= {len(candidates)}")
    return random.Random(seed).sample(candidates, k)


def landmarks_text(landmarks: list[tuple[str, float]], metric: str, source: str) -> str:
    """RUN/landmarks.txt: a comment naming the truth, then one `key<TAB>value` line per landmark."""
    head = (f"# {len(landmarks)} landmark archs (train.landmarks) and their {metric} truth from {source}: "
            f"truth labels used in training, never scored\n")
    return head + "".join(f"{key}\t{value!r}\n" for key, value in landmarks)


def read_landmarks(run_path: str | Path) -> list[str]:
    """The keys of a run's landmark archs ([] for a run without landmarks)."""
    path = Path(run_path) / LANDMARKS
    if not path.is_file():
        return []
    lines = (line.strip() for line in path.read_text().splitlines())
    return [line.split("\t")[0] for line in lines if line and not line.startswith("#")]
