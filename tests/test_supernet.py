"""The NAS-Bench-201 supernet: one path per step, and extracted subnets compute exactly the path's function."""
import copy
import random

import pytest

torch = pytest.importorskip("torch")

from wsnas.benchmarks.spaces.nb201.cell import parse_arch  # noqa: E402
from wsnas.benchmarks.spaces.nb201.space import NB201Space  # noqa: E402
from wsnas.supernets.models.nb201 import AvgPool3x3, NB201Network, NB201Supernet, extract_subnet  # noqa: E402
from wsnas.supernets.samplers import PathSampler  # noqa: E402


@pytest.fixture(scope="module")
def trained_supernet():
    """A small supernet after a few steps of training, so BN statistics and weights are non-trivial."""
    torch.manual_seed(0)
    net = NB201Supernet(C=4, N=2, num_classes=10, affine=True)
    opt = torch.optim.SGD(net.parameters(), lr=0.05)
    sampler = PathSampler(NB201Space(), "uniform", seed=0)
    for _ in range(10):
        x, y = torch.randn(16, 3, 32, 32), torch.randint(0, 10, (16,))
        opt.zero_grad()
        torch.nn.functional.cross_entropy(net(x, sampler()), y).backward()
        opt.step()
    return net


def test_extracted_subnet_equals_supernet_path(trained_supernet):
    net = trained_supernet.eval()
    x = torch.randn(8, 3, 32, 32)
    rng = random.Random(1)
    space = NB201Space()
    for _ in range(25):
        arch = space.random_arch(rng)
        sub = extract_subnet(net, arch).eval()
        assert torch.equal(net(x, arch), sub(x)), space.format(arch)
    # batch-statistics mode too, in float64 (batch statistics are sums whose float32 order may differ)
    arch = parse_arch("|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|none~2|")
    sub = extract_subnet(net, arch).double().train()
    net = copy.deepcopy(trained_supernet).double().train()
    assert torch.allclose(net(x.double(), arch), sub(x.double()), atol=1e-9)


@pytest.mark.parametrize("shape", [(2, 3, 1, 1), (2, 3, 1, 5), (2, 3, 2, 1), (4, 8, 7, 9), (8, 4, 32, 32)])
def test_avg_pool_equals_torch_pooling_without_padding(shape):
    x = torch.randn(*shape, dtype=torch.float64, requires_grad=True)  # float64: sums of <= 9 terms, error ~1e-15
    reference = torch.nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)(x)
    ours = AvgPool3x3()(x)
    torch.testing.assert_close(ours, reference, rtol=1e-12, atol=1e-12)
    weights = torch.randn_like(reference)
    grads = [torch.autograd.grad((out * weights).sum(), x)[0] for out in (ours, reference)]
    torch.testing.assert_close(grads[0], grads[1], rtol=1e-12, atol=1e-12)


def test_avg_pool_trains_after_a_first_call_in_inference_mode():
    with torch.inference_mode():  # its cached kernel and window sizes must not become inference tensors
        AvgPool3x3()(torch.randn(2, 4, 6, 6))
    x = torch.randn(2, 4, 6, 6, requires_grad=True)
    AvgPool3x3()(x).sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()


def test_one_path_gets_gradients_only_on_its_ops():
    net = NB201Supernet(C=4, N=1)
    arch = parse_arch("|nor_conv_3x3~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|")  # edge 0 is dead
    net(torch.randn(2, 3, 32, 32), arch).sum().backward()
    cell = net.layers[0]
    assert all(p.grad is None for p in cell.edges[0].parameters())  # dead edge never computed
    assert all(p.grad is None for p in cell.edges[3]["nor_conv_3x3"].parameters())  # op not chosen
    assert net.stem[0].weight.grad is not None


def test_zero_output_cell_gives_constant_features():
    net = NB201Supernet(C=4, N=1).eval()
    dead = parse_arch("|nor_conv_3x3~0|+|nor_conv_3x3~0|none~1|+|none~0|none~1|none~2|")
    out = net(torch.randn(4, 3, 32, 32), dead)
    assert torch.allclose(out, out[0].expand_as(out))


def test_standalone_network_param_count_matches_benchmark_best():
    best = parse_arch("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|")
    net = NB201Network(best, C=16, N=5, num_classes=10)
    assert round(sum(p.numel() for p in net.parameters()) / 1e6, 3) == 1.532


def test_unique_sampler_draws_functions_uniformly():
    space = NB201Space()
    sampler = PathSampler(space, "unique", seed=0)
    draws = [space.function_key(sampler()) for _ in range(4000)]
    # uniform over 4,930 functions: the all-zero function (thousands of strings) is drawn about 1/4930 of the time
    assert draws.count("0") < 10
    uniform = PathSampler(space, "uniform", seed=0)
    assert sum(space.function_key(uniform()) == "0" for _ in range(4000)) > 40  # ~2% of strings compute zero


def test_the_wide_layout_puts_only_wide_convolutions_channels_last_and_computes_the_same(trained_supernet):
    from wsnas.supernets.runtime import WIDE_CHANNELS, apply_layout

    # float64: the layouts take different convolution kernels, whose float32 sums differ in order
    net = copy.deepcopy(trained_supernet).double().eval()  # C=4: stage widths 4, 8, 16
    arch = parse_arch("|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|none~2|")
    x = torch.randn(8, 3, 32, 32, dtype=torch.float64)
    with torch.no_grad():
        want = net(x, arch)
        apply_layout(net, "wide")
        got = net(x, arch)
    convs = [m for m in net.modules() if isinstance(m, torch.nn.Conv2d)]
    assert any(c.out_channels < WIDE_CHANNELS for c in convs) and any(c.out_channels >= WIDE_CHANNELS for c in convs)
    for conv in (c for c in convs if c.kernel_size != (1, 1)):  # a 1x1 kernel is laid out alike either way
        assert conv.weight.is_contiguous(memory_format=torch.channels_last) == (conv.out_channels >= WIDE_CHANNELS)
    torch.testing.assert_close(got, want, rtol=1e-9, atol=1e-9)
    apply_layout(net, "contiguous")
    assert all(c.weight.is_contiguous() for c in convs)
