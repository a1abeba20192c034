"""Scoring many subnets with shared steps (wsnas.supernets.stages): bit-identical to scoring each subnet alone
with `score_subnet`, under every BN policy, whatever the other archs scored alongside and their order; shared
steps really are computed once."""
import random

import pytest

torch = pytest.importorskip("torch")

from torch import nn  # noqa: E402

from wsnas.benchmarks.registry import get_space  # noqa: E402
from wsnas.benchmarks.spaces.channel.space import SKELETONS  # noqa: E402
from wsnas.core.config import RuntimeConfig  # noqa: E402
from wsnas.supernets.models.channel import ChannelSupernet  # noqa: E402
from wsnas.supernets.evaluate import BN_POLICIES, score_subnet  # noqa: E402
from wsnas.supernets.models.macro import MacroSupernet  # noqa: E402
from wsnas.supernets.models.nb201 import NB201Supernet  # noqa: E402
from wsnas.supernets.runtime import resolve_runtime  # noqa: E402
from wsnas.supernets.stages import score_staged  # noqa: E402

RT = resolve_runtime(RuntimeConfig(device="cpu", amp="off", channels_last="off"))


def _data(seed: int) -> tuple[list, list]:
    gen = torch.Generator().manual_seed(seed)
    calib = [(torch.randn(8, 3, 16, 16, generator=gen) * 2 + 1, torch.randint(0, 10, (8,), generator=gen))
             for _ in range(2)]
    evaluation = [(torch.randn(n, 3, 16, 16, generator=gen), torch.randint(0, 10, (n,), generator=gen))
                  for n in (12, 5)]
    return calib, evaluation


def _trained_like(model: nn.Module) -> nn.Module:
    """Non-trivial running statistics (for `inherit`)."""
    torch.manual_seed(1)
    with torch.no_grad():
        for bn in (m for m in model.modules() if isinstance(m, nn.BatchNorm2d)):
            bn.running_mean.normal_()
            bn.running_var.uniform_(0.5, 2.0)
    return model


MODELS = {
    "nb201": lambda: NB201Supernet(C=4, N=1),
    "macro": lambda: MacroSupernet(width_mult=0.125),
    "channel-mobilenet": lambda: ChannelSupernet(SKELETONS["mobilenet"], width_mult=0.0625),
    "channel-resnet": lambda: ChannelSupernet(SKELETONS["resnet"], width_mult=0.0625),
}


@pytest.mark.parametrize("space", MODELS)
@pytest.mark.parametrize("policy", BN_POLICIES)
def test_staged_scores_equal_one_by_one_scores_bit_for_bit(space, policy):
    torch.manual_seed(0)
    model = _trained_like(MODELS[space]())
    calib, evaluation = _data(0)
    archs = get_space(space).sample(6, seed=3)
    if space == "nb201":  # node 1 is zero (edge 1<-0 is none), so edges from it are dead: one function
        archs += [("none", "nor_conv_3x3", "nor_conv_3x3", "skip_connect", "nor_conv_1x1", "nor_conv_3x3"),
                  ("none", "nor_conv_3x3", "avg_pool_3x3", "skip_connect", "none", "nor_conv_3x3")]
    alone = [score_subnet(model, arch, calib, evaluation, RT, policy) for arch in archs]
    together = {i: (acc, loss) for i, acc, loss in score_staged(model, archs, calib, evaluation, RT, policy)}
    assert [together[i] for i in range(len(archs))] == alone
    if space == "nb201":
        assert alone[-1] == alone[-2]
    # another order and a subset (another shard, other neighbours) give the same scores
    picked = random.Random(0).sample(range(len(archs)), 3)
    subset = {picked[i]: (acc, loss)
              for i, acc, loss in score_staged(model, [archs[k] for k in picked], calib, evaluation, RT, policy)}
    assert all(subset[k] == alone[k] for k in picked)
    if policy == "inherit":  # running statistics are not touched by inherit or batch scoring
        again = score_subnet(model, archs[0], calib, evaluation, RT, policy)
        assert again == alone[0]


class _Counting(nn.Module):
    """Counts the images an nn.Module wrapper sees."""

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner, self.images = inner, 0

    def forward(self, x):
        self.images += len(x)
        return self.inner(x)


def test_shared_steps_run_once():
    torch.manual_seed(0)
    model = NB201Supernet(C=4, N=1)
    model.stem = _Counting(model.stem)
    conv = model.layers[0].edges[0]["nor_conv_3x3"]  # the first cell's edge 1<-0, fed by the stem
    model.layers[0].edges[0]["nor_conv_3x3"] = counted = _Counting(conv)
    calib, evaluation = _data(1)
    archs = [a for a in get_space("nb201").sample(200, seed=0) if a[0] == "nor_conv_3x3"][:8]
    images = sum(len(y) for _, y in calib + evaluation)
    list(score_staged(model, archs, calib, evaluation, RT, "recalibrate"))
    assert model.stem.images == images and counted.images == images  # once for all 8 archs
    score_subnet(model, archs[0], calib, evaluation, RT, "recalibrate")
    assert model.stem.images == 2 * images


def test_a_supernet_without_stages_is_scored_whole():
    class Plain(nn.Module):  # an NB201 supernet hiding its stages
        def __init__(self):
            super().__init__()
            self.net = NB201Supernet(C=4, N=1)

        def forward(self, x, arch):
            return self.net(x, arch)

    torch.manual_seed(0)
    model = _trained_like(Plain())
    calib, evaluation = _data(2)
    archs = get_space("nb201").sample(4, seed=1)
    together = {i: (a, l) for i, a, l in score_staged(model, archs, calib, evaluation, RT, "recalibrate")}
    assert [together[i] for i in range(4)] == [score_subnet(model, a, calib, evaluation, RT, "recalibrate")
                                               for a in archs]


def test_over_the_memory_budget_each_arch_is_scored_whole():
    torch.manual_seed(0)
    model = _trained_like(NB201Supernet(C=4, N=1))
    calib, evaluation = _data(3)
    archs = get_space("nb201").sample(5, seed=2)
    lines = []
    tight = {i: (a, l) for i, a, l in score_staged(model, archs, calib, evaluation, RT, "recalibrate",
                                                   memory_budget=1, log=lines.append)}
    assert len(lines) == 1 and "scored whole" in lines[0]
    assert [tight[i] for i in range(5)] == [score_subnet(model, a, calib, evaluation, RT, "recalibrate")
                                            for a in archs]


def test_autograd_is_on_between_scores():
    model = NB201Supernet(C=4, N=1)
    calib, evaluation = _data(4)
    for _ in score_staged(model, get_space("nb201").sample(3, seed=4), calib, evaluation, RT, "recalibrate"):
        assert torch.is_grad_enabled()


def test_per_image_hits_equal_one_by_one():
    torch.manual_seed(0)
    model = _trained_like(NB201Supernet(C=4, N=1))
    calib, evaluation = _data(5)
    archs = get_space("nb201").sample(4, seed=5)
    together = [[] for _ in archs]
    list(score_staged(model, archs, calib, evaluation, RT, "recalibrate", hits=together))
    for arch, got in zip(archs, together):
        alone = []
        score_subnet(model, arch, calib, evaluation, RT, "recalibrate", hits=alone)
        assert torch.equal(torch.cat(got), torch.cat(alone))
