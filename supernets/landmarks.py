"""Landmark regularisation of supernet training (Yu et al., CVPR 2021; train.landmarks; the record, the draw of the
landmarks and their file: wsnas.benchmarks.ranking_methods.landmarks).

Every train.landmark_every steps, train.landmark_pairs pairs of distinct landmarks are drawn from a stream seeded
by the epoch's seed (a resumed epoch draws the same pairs); each pair's two archs run on the step's batch, and
the hinge max(0, margin + loss(better) - loss(worse)) (better by their truth) asks the truly better arch for the
lower loss by the margin. The mean over the pairs, times train.landmark_weight, is backpropagated into the same
optimiser step as the sampled paths' losses. The extra forwards are training: they count in the epoch's seconds.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, Sequence

import torch
from torch import nn

from wsnas.benchmarks.groundtruth import config_truth
from wsnas.benchmarks.ranking_methods.landmarks import draw_landmarks, landmarks_text
from wsnas.benchmarks.space import SearchSpace
from wsnas.core.atomic import write_text
from wsnas.core.config import Config, TrainConfig
from wsnas.core.errors import WsnasError
from wsnas.core.run_files import LANDMARKS
from wsnas.core.runs import RunDir, RunError
from wsnas.supernets.runtime import Runtime


def check_landmarks(t: TrainConfig) -> None:
    """One clear error for landmark options out of range."""
    if t.landmarks == 0:
        return
    if t.landmarks < 2:
        raise WsnasError(f"train.landmarks={t.landmarks}: a ranking needs at least 2 landmarks (0 = off)")
    if t.landmark_every < 1 or t.landmark_pairs < 1:
        raise WsnasError(f"train.landmark_every={t.landmark_every} and train.landmark_pairs={t.landmark_pairs} must "
                         f"be 1 or more (e.g. one pair every step)")
    if t.landmark_weight <= 0 or t.landmark_margin < 0:
        raise WsnasError(f"train.landmark_weight={t.landmark_weight} must be > 0 and train.landmark_margin="
                         f"{t.landmark_margin} >= 0; turn the regulariser off with train.landmarks=0")


def ranking_hinge(better: torch.Tensor, worse: torch.Tensor, margin: float) -> torch.Tensor:
    """max(0, margin + better - worse) of two losses: zero once the truly better arch's loss is lower by `margin`."""
    return torch.relu(margin + better - worse)


@dataclass(frozen=True)
class Landmarks:
    """The run's landmark archs with their truth, and the regulariser's settings."""

    archs: tuple[Any, ...]
    truth: tuple[float, ...]
    t: TrainConfig

    def pair_stream(self, seed: int) -> random.Random:
        """The stream of one epoch's landmark pairs."""
        return random.Random(f"landmarks-{seed}")

    def step(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor, criterion: nn.Module, rt: Runtime,
             rng: random.Random) -> torch.Tensor:
        """Backpropagate train.landmark_weight x the mean hinge over train.landmark_pairs drawn pairs (gradients
        add to the step's); the detached mean hinge."""
        hinges = []
        for _ in range(self.t.landmark_pairs):
            i, j = rng.sample(range(len(self.archs)), 2)
            if self.truth[i] == self.truth[j]:
                continue  # a tie ranks neither above the other
            better, worse = (i, j) if self.truth[i] > self.truth[j] else (j, i)
            with rt.autocast():
                losses = [criterion(model(x, self.archs[k]), y) for k in (better, worse)]
            hinges.append(ranking_hinge(*losses, self.t.landmark_margin))
        if not hinges:
            return torch.zeros((), device=x.device)
        mean = torch.stack(hinges).sum() / self.t.landmark_pairs
        (self.t.landmark_weight * mean).backward()
        return mean.detach()


def run_landmarks(cfg: Config, space: SearchSpace, run: RunDir, pool: Sequence[Any] | None) -> Landmarks | None:
    """The run's landmarks (None when train.landmarks=0): drawn from the config's ground truth, written to
    RUN/landmarks.txt the first time; a resumed run must draw the same ones."""
    t = cfg.train
    if not t.landmarks:
        return None
    truth = config_truth(cfg)
    metric = cfg.analysis.truth or f"{cfg.data.dataset}/test"
    keys = {space.format(arch) for arch in pool} if pool is not None else None
    drawn = draw_landmarks(truth, metric, t.landmarks, t.landmark_seed, keys)
    text = landmarks_text(drawn, metric, truth.source)
    path = run.path / LANDMARKS
    if not path.is_file():
        write_text(path, text)
    elif path.read_text() != text:
        raise RunError(f"the landmarks drawn now differ from those run {run.path} was trained with ({path}); train "
                       f"with the ground truth and train.landmark_* it was trained with, or choose a new --run-dir")
    return Landmarks(tuple(space.parse(key) for key, _ in drawn), tuple(value for _, value in drawn), t)
