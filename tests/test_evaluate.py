"""Subnet evaluation: BN policies, recalibration, no model rebuilt, scores equal a standalone extract."""
import pytest

torch = pytest.importorskip("torch")

from wsnas.benchmarks.spaces.nb201.cell import parse_arch  # noqa: E402
from wsnas.core.config import RuntimeConfig  # noqa: E402
from wsnas.supernets.evaluate import batch_norms, recalibrate_bn, score_subnet  # noqa: E402
from wsnas.supernets.models.nb201 import NB201Supernet, extract_subnet  # noqa: E402
from wsnas.supernets.runtime import resolve_runtime  # noqa: E402

ARCH = parse_arch("|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|")


@pytest.fixture()
def setup():
    torch.manual_seed(0)
    rt = resolve_runtime(RuntimeConfig(device="cpu"))
    net = NB201Supernet(C=4, N=1, affine=False)
    calib = [(torch.randn(32, 3, 32, 32) * 2 + 1, torch.randint(0, 10, (32,))) for _ in range(3)]
    evaluation = [(torch.randn(20, 3, 32, 32), torch.randint(0, 10, (20,))) for _ in range(2)]
    return rt, net, calib, evaluation


def test_recalibration_is_the_cumulative_average_over_batches(setup):
    rt, net, calib, _ = setup
    net, calib = net.double(), [(x.double(), y) for x, y in calib]  # float64: means of 32k values in two orders
    recalibrate_bn(net, ARCH, calib, rt)
    stem_bn = net.stem[1]
    with torch.no_grad():
        feats = [net.stem[0](x) for x, _ in calib]
    expected_mean = torch.stack([f.mean((0, 2, 3)) for f in feats]).mean(0)
    assert torch.allclose(stem_bn.running_mean, expected_mean, atol=1e-9)
    assert int(stem_bn.num_batches_tracked) == len(calib)
    assert all(bn.momentum == 0.1 for bn in batch_norms(net))  # momentum restored


def test_policies_differ_and_batch_policy_leaves_running_stats(setup):
    rt, net, calib, evaluation = setup
    before = {k: v.clone() for k, v in net.state_dict().items()}
    batch = score_subnet(net, ARCH, calib, evaluation, rt, "batch")
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())
    inherit = score_subnet(net, ARCH, calib, evaluation, rt, "inherit")
    recal = score_subnet(net, ARCH, calib, evaluation, rt, "recalibrate")
    assert len({batch[1], inherit[1], recal[1]}) == 3


def test_supernet_score_equals_standalone_subnet_score(setup):
    rt, net, calib, evaluation = setup
    acc, loss = score_subnet(net, ARCH, calib, evaluation, rt, "recalibrate")
    sub = extract_subnet(net, ARCH)  # carries the recalibrated statistics
    sub.eval()
    correct, total, loss_sum = 0, 0, 0.0
    with torch.no_grad():
        for x, y in evaluation:
            logits = sub(x)
            correct += int((logits.argmax(1) == y).sum())
            loss_sum += float(torch.nn.functional.cross_entropy(logits, y, reduction="sum"))
            total += len(y)
    # the same float32 kernels on the same weights and shapes; the sums of 40 losses (~2.3) differ in order
    # only: 40 u = 2.4e-6 relative at most, below 1e-5
    assert acc == pytest.approx(100 * correct / total) and loss == pytest.approx(loss_sum / total, rel=1e-5)


def test_unknown_policy_is_named(setup):
    rt, net, calib, evaluation = setup
    with pytest.raises(Exception, match="unknown BN policy 'fancy'; choose one of recalibrate, inherit, batch"):
        score_subnet(net, ARCH, calib, evaluation, rt, "fancy")
