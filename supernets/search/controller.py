"""ENAS's controller: an LSTM that chooses one op per slot in turn, each choice fed back as the next input.

As in ENAS (Pham et al., 2018) and xautodl's NB201 Controller: a learned start input, a 2-layer LSTM with 32 units,
logits = tanh_constant * tanh(W h / temperature) over the slot's choices, the chosen choice's embedding as the
next input. The controller is tiny and lives on the CPU (sampling then draws from a CPU generator, the same on any
device). Its log-likelihood of an arch (teacher forcing) is the method's own ranking of archs.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn


@dataclass
class Decisions:
    """A batch of B archs decided by the controller: choice indices (B, slots), their summed log-probabilities
    and entropies (B,), and every slot's choice distribution (slots x (B, k_max), 0 past a slot's choices)."""

    indices: torch.Tensor
    log_prob: torch.Tensor
    entropy: torch.Tensor
    probs: list[torch.Tensor]


class Controller(nn.Module):
    """An LSTM policy over `sizes[s]` choices at slot s (the slots' allowed choices, in order)."""

    def __init__(self, sizes: list[int], hidden: int = 32, layers: int = 2, tanh_constant: float = 2.5,
                 temperature: float = 5.0) -> None:
        super().__init__()
        self.sizes = list(sizes)
        self.tanh_constant, self.temperature = tanh_constant, temperature
        width = max(self.sizes)
        self.start = nn.Parameter(torch.empty(1, 1, hidden))
        self.lstm = nn.LSTM(input_size=hidden, hidden_size=hidden, num_layers=layers)
        self.embed = nn.Embedding(width, hidden)
        self.head = nn.Linear(hidden, width)
        for tensor in (self.start, self.lstm.weight_hh_l0, self.lstm.weight_ih_l0, self.embed.weight, self.head.weight):
            nn.init.uniform_(tensor, -0.1, 0.1)  # the initialisation of ENAS's and xautodl's controller
        self.register_buffer("mask", torch.stack([torch.arange(width) >= k for k in self.sizes]), persistent=False)

    def slot_logits(self, output: torch.Tensor, slot: int) -> torch.Tensor:
        """(B, k_max) logits of one slot's choices from the LSTM output; -inf past the slot's choices."""
        logits = self.tanh_constant * torch.tanh(self.head(output) / self.temperature)
        return logits.masked_fill(self.mask[slot], float("-inf"))

    def forward(self, batch: int = 1, generator: torch.Generator | None = None, given: torch.Tensor | None = None,
                greedy: bool = False) -> Decisions:
        """Decide `batch` archs: sampled from `generator`, the most likely choice at each step (greedy), or the
        choices `given` ((B, slots) indices: teacher forcing, to score archs)."""
        if given is not None:
            batch = given.shape[0]
        inputs, state = self.start.expand(1, batch, -1), None
        indices, log_prob, entropy, probs = [], torch.zeros(batch), torch.zeros(batch), []
        for slot in range(len(self.sizes)):
            output, state = self.lstm(inputs, state)
            log_p = torch.log_softmax(self.slot_logits(output[0], slot), dim=-1)
            p = log_p.exp()
            if given is not None:
                choice = given[:, slot]
            elif greedy:
                choice = p.argmax(dim=-1)
            else:
                choice = torch.multinomial(p.detach(), 1, generator=generator).squeeze(1)
            log_prob = log_prob + log_p.gather(1, choice[:, None]).squeeze(1)
            entropy = entropy - torch.where(p > 0, p * log_p, torch.zeros_like(p)).sum(dim=-1)
            indices.append(choice)
            probs.append(p)
            inputs = self.embed(choice)[None]
        return Decisions(torch.stack(indices, dim=1), log_prob, entropy, probs)
