"""NAS-Bench-Graph networks as the benchmark built them: the weight-sharing supernet and standalone nets.

Wiring (NAS-Bench-Graph's training code with its Cora/CiteSeer setting: no pre-processing layer, one
post-processing layer): dropout on the input features; computing node k applies its op to the node it reads,
an input of hidden width first passing through the node's BatchNorm, ReLU and dropout (an input of the features'
width, i.e. the features or skips of them, goes in as is); the leaves' outputs are concatenated, passed through
ReLU and a linear layer to the hidden width, then a linear classifier. The ops are torch_geometric layers: GATConv
(4 heads of width/4, concatenated), GCNConv, GINConv(Linear), ChebConv(K=2), SAGEConv, ARMAConv (one stack, one
layer), GraphConv; fc is a Linear and skip the identity. The graph (features, edges) is held as non-persistent
buffers, so checkpoints hold only weights; `model(node_ids, arch)` runs the whole graph and returns the logits of
`node_ids`.

Supernet: one weight set per (node, op, input width) (node 1 always reads the features); the output layer has one
block of hidden-width columns per node, of which an arch uses its leaves'. BatchNorm is the benchmark's, so the
BN policies of wsnas.supernets.evaluate apply (in full-batch training every batch is the whole graph).
"""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from wsnas.benchmarks.spaces.graph.arch import HIDDEN, NUM_NODES, OPS, GraphArch, leaves, raw_inputs
from wsnas.core.config import Config
from wsnas.core.errors import WsnasError
from wsnas.supernets.graph_data import load_graph

DROPOUT = 0.7  # the benchmark's dropout on Cora and CiteSeer


def hidden_width(width_mult: float) -> int:
    """The hidden width at model.width_mult: the benchmark's 256 scaled, a multiple of GAT's 4 heads."""
    width = 4 * round(HIDDEN * width_mult / 4)
    if width < 4:
        raise WsnasError(f"model.width_mult={width_mult} gives a hidden width of {width}; the graph space needs "
                         f"at least 4 (GAT's 4 heads): use model.width_mult >= {4 / HIDDEN}")
    return width


def make_layer(op: str, c_in: int, width: int) -> nn.Module | None:
    """The torch_geometric layer of an op (None for skip)."""
    from torch_geometric import nn as gnn  # torch_geometric takes seconds to import: only when a model is built

    layers: dict[str, Callable[[], nn.Module]] = {
        "gat": lambda: gnn.GATConv(c_in, width // 4, heads=4), "gcn": lambda: gnn.GCNConv(c_in, width),
        "gin": lambda: gnn.GINConv(nn.Linear(c_in, width)), "cheb": lambda: gnn.ChebConv(c_in, width, K=2),
        "sage": lambda: gnn.SAGEConv(c_in, width), "arma": lambda: gnn.ARMAConv(c_in, width),
        "graph": lambda: gnn.GraphConv(c_in, width), "fc": lambda: nn.Linear(c_in, width),
    }
    return layers[op]() if op != "skip" else None


class NodeOp(nn.Module):
    """One op at one node for one input width: its layer, and the BN a hidden-width input passes through first."""

    def __init__(self, op: str, c_in: int, width: int, raw: bool, affine: bool) -> None:
        super().__init__()
        self.op = op
        self.layer = make_layer(op, c_in, width)
        self.bn = None if raw else nn.BatchNorm1d(width, affine=affine)

    def forward(self, h: torch.Tensor, edge_index: torch.Tensor, dropout: float) -> torch.Tensor:
        if self.bn is not None:
            h = F.dropout(F.relu(self.bn(h)), dropout, self.training)
        if self.layer is None:
            return h
        return self.layer(h) if self.op == "fc" else self.layer(h, edge_index)


def op_name(op: str, raw: bool) -> str:
    return f"{op}_{'raw' if raw else 'hidden'}"


class _GraphModel(nn.Module):
    """The graph as buffers, and the run up to the leaves."""

    def __init__(self, x: torch.Tensor, edge_index: torch.Tensor, width: int, dropout: float) -> None:
        super().__init__()
        self.register_buffer("x", x, persistent=False)
        self.register_buffer("edge_index", edge_index, persistent=False)
        self.width, self.dropout = width, dropout

    def _leaf_features(self, arch: GraphArch, node_ids: torch.Tensor) -> torch.Tensor:
        """ReLU of the leaves' outputs, concatenated in node order, at `node_ids`."""
        h = [F.dropout(self.x, self.dropout, self.training)]
        for node, ((src, op), raw) in enumerate(zip(arch, raw_inputs(arch)), start=1):
            h.append(self.nodes[node - 1][op_name(op, raw)](h[src], self.edge_index, self.dropout))
        return F.relu(torch.cat([h[k][node_ids] for k in leaves(arch)], dim=1))


class GraphSupernet(_GraphModel):
    """Weight-sharing supernet: `forward(node_ids, arch)` runs exactly one arch."""

    def __init__(self, x: torch.Tensor, edge_index: torch.Tensor, num_classes: int, width: int = HIDDEN,
                 affine: bool = True, dropout: float = DROPOUT) -> None:
        super().__init__(x, edge_index, width, dropout)
        features = x.shape[1]
        self.nodes = nn.ModuleList(
            nn.ModuleDict({op_name(op, raw): NodeOp(op, features if raw else width, width, raw, affine)
                           for op in OPS for raw in ((True,) if node == 1 else (True, False))})
            for node in range(1, NUM_NODES + 1))
        self.out = nn.Linear(NUM_NODES * width, width)  # column block k-1 reads node k
        self.classifier = nn.Linear(width, num_classes)
        self.num_classes, self.affine = num_classes, affine

    def out_weight(self, arch: GraphArch) -> torch.Tensor:
        """The output layer's columns of the arch's leaves."""
        blocks = self.out.weight.view(self.width, NUM_NODES, self.width)[:, [k - 1 for k in leaves(arch)]]
        return blocks.reshape(self.width, -1)

    def forward(self, node_ids: torch.Tensor, arch: GraphArch) -> torch.Tensor:
        z = F.linear(self._leaf_features(arch, node_ids), self.out_weight(arch), self.out.bias)
        return self.classifier(z)


class GraphNet(_GraphModel):
    """A standalone NAS-Bench-Graph network for one arch (module names as in the supernet, for weight transfer)."""

    def __init__(self, arch: GraphArch, x: torch.Tensor, edge_index: torch.Tensor, num_classes: int,
                 width: int = HIDDEN, affine: bool = True, dropout: float = DROPOUT) -> None:
        super().__init__(x, edge_index, width, dropout)
        self.arch = arch
        self.nodes = nn.ModuleList(
            nn.ModuleDict({op_name(op, raw): NodeOp(op, x.shape[1] if raw else width, width, raw, affine)})
            for (_, op), raw in zip(arch, raw_inputs(arch)))
        self.out = nn.Linear(len(leaves(arch)) * width, width)
        self.classifier = nn.Linear(width, num_classes)

    def forward(self, node_ids: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        return self.classifier(self.out(self._leaf_features(self.arch, node_ids)))


def build_supernet(cfg: Config) -> GraphSupernet:
    """The supernet for data.dataset at model.width_mult (affine BN as model.bn_affine)."""
    graph = load_graph(cfg.data.dataset, cfg.data.mirror)
    return GraphSupernet(graph.x, graph.edge_index, graph.num_classes, hidden_width(cfg.model.width_mult),
                         cfg.model.bn_affine)


@torch.no_grad()
def extract_subnet(supernet: GraphSupernet, arch: GraphArch) -> GraphNet:
    """A standalone network for `arch` with the supernet's weights and BN buffers copied in."""
    net = GraphNet(arch, supernet.x, supernet.edge_index, supernet.num_classes, supernet.width, supernet.affine,
                   supernet.dropout)
    source = supernet.state_dict()
    state = {name: source[name].clone() for name in net.state_dict() if not name.startswith("out.")}
    state.update({"out.weight": supernet.out_weight(arch).clone(), "out.bias": supernet.out.bias.clone()})
    net.load_state_dict(state)
    return net.to(supernet.x.device)
