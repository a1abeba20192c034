"""ENAS: paths from an LSTM controller trained by REINFORCE on one-batch accuracy after each epoch; derives the best
of search.candidates controller samples (xautodl ENAS), logs the greedy arch each epoch."""
from __future__ import annotations

from typing import Any, Hashable, Sequence

import numpy as np
import torch
from torch import nn

from wsnas.benchmarks.space import SearchSpace
from wsnas.core.config import Config
from wsnas.supernets.runtime import Runtime
from wsnas.supernets.search.base import BatchScorer, Context, Method, best_of
from wsnas.supernets.search.controller import Controller


class ENAS(Method):
    """ENAS: controller-sampled paths, REINFORCE on one-batch accuracy with an entropy bonus and a moving baseline."""

    name = "enas"

    def __init__(self, cfg: Config, space: SearchSpace, rt: Runtime) -> None:
        super().__init__(cfg, space, rt)
        s = cfg.search
        self.controller = Controller([len(slot.choices) for slot in self.slots], s.controller_hidden,
                                     s.controller_layers, s.controller_tanh, s.controller_temperature)
        self.optimizer = torch.optim.Adam(self.controller.parameters(), lr=s.controller_lr,
                                          betas=tuple(s.controller_betas), eps=s.controller_eps)
        self.baseline: float | None = None

    def begin_epoch(self, epoch: int, seed: int) -> None:
        super().begin_epoch(epoch, seed)
        self.generator = torch.Generator().manual_seed(seed)

    def _archs(self, indices: torch.Tensor) -> list[Any]:
        return [self.arch([slot.choices[i] for slot, i in zip(self.slots, row.tolist())]) for row in indices]

    @torch.no_grad()
    def weight_arch(self) -> Any:
        return self._archs(self.controller(1, self.generator).indices)[0]

    def end_epoch(self, ctx: Context, scorer: BatchScorer) -> dict[str, float]:
        """search.controller_steps updates, each averaging search.controller_aggregate samples: reward = accuracy
        in [0, 1] + entropy_weight * entropy, loss = -log_prob (reward - b), gradient norm clipped (as xautodl's
        train_controller), with the moving-average baseline b <- b - (1 - decay) (b - reward) updated after every
        sample, as in the ENAS paper (xautodl computes each sample's from the previous epoch's baseline)."""
        s = self.cfg.search
        self.controller.train()
        rewards, entropies = [], []
        for _ in range(s.controller_steps):
            decisions = self.controller(s.controller_aggregate, self.generator)
            advantages = []
            for arch, entropy in zip(self._archs(decisions.indices), decisions.entropy.tolist()):
                accuracy = scorer(ctx.model, arch) / 100.0
                reward = accuracy + s.controller_entropy_weight * entropy
                self.baseline = accuracy if self.baseline is None else (
                    self.baseline - (1 - s.controller_baseline_decay) * (self.baseline - reward))
                advantages.append(reward - self.baseline)
                rewards.append(reward)
                entropies.append(entropy)
            loss = -(decisions.log_prob * torch.tensor(advantages)).sum() / s.controller_aggregate
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if s.controller_grad_clip > 0:
                nn.utils.clip_grad_norm_(self.controller.parameters(), s.controller_grad_clip)
            self.optimizer.step()
        ctx.model.train()
        return {"reward": float(np.mean(rewards)), "baseline": float(self.baseline),
                "controller_entropy": float(np.mean(entropies))}

    @torch.no_grad()
    def derive(self, ctx: Context, scorer: BatchScorer, final: bool) -> tuple[Any, str]:
        if not final:
            return self.greedy(), "the controller's greedy arch"
        samples = self._archs(self.controller(self.cfg.search.candidates, self.generator).indices)
        return best_of(ctx, scorer, samples), f"best one-batch accuracy of {len(samples)} controller samples"

    @torch.no_grad()
    def greedy(self) -> Any:
        return self._archs(self.controller(1, greedy=True).indices)[0]

    @torch.no_grad()
    def _estimate(self) -> Any:
        """search.candidates samples from a fixed seed (the same each epoch): the estimates' noise does not change
        between epochs, only the controller does."""
        return self.controller(max(self.cfg.search.candidates, 1), torch.Generator().manual_seed(0))

    def shares(self) -> list[dict[Hashable, float]]:
        """Each slot's marginal choice probabilities, estimated as the mean of its conditional distributions
        over sampled prefixes."""
        probs = self._estimate().probs
        return [dict(zip(slot.choices, p.mean(dim=0).tolist())) for slot, p in zip(self.slots, probs)]

    def entropy(self) -> float:
        """The joint entropy, estimated as the mean over samples of the summed per-decision entropies."""
        return float(self._estimate().entropy.mean())

    @torch.no_grad()
    def rank_scores(self, ctx: Context, scorer: BatchScorer, archs: Sequence[Any]) -> np.ndarray:
        """The controller's log-likelihood of each arch."""
        given = torch.tensor([[slot.choices.index(c) for slot, c in zip(self.slots, self.space.choices_of(arch))]
                              for arch in archs], dtype=torch.long)
        return self.controller(given=given).log_prob.numpy().astype(float)

    def state_dict(self) -> dict[str, Any]:
        return {"controller": self.controller.state_dict(), "optimizer": self.optimizer.state_dict(),
                "baseline": self.baseline}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.controller.load_state_dict(state["controller"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.baseline = state["baseline"]
