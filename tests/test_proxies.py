"""Zero-cost proxies (wsnas.supernets.proxies, `wsnas proxies RUN`): each proxy against its closed form on tiny
networks, finite values on every space with a supernet, determinism, order independence, resume and bad input."""
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

from wsnas.benchmarks.registry import get_space  # noqa: E402
from wsnas.cli import main  # noqa: E402
from wsnas.core.config import build_config  # noqa: E402
from wsnas.core.runs import RunDir  # noqa: E402
from wsnas.supernets.proxies import (PROXIES, ProbeBatch, ProxyError, ProxySettings, ReluCodes,  # noqa: E402
                                     compute_proxies, skeleton_config)

PLUGIN = Path(__file__).resolve().parents[1] / "examples" / "tinyconv" / "plugin.py"
ALL = tuple(PROXIES)


def smoke_config(mirror: Path, space: str = "nb201", **overrides):
    plugins = {"plugins": [str(PLUGIN)]} if space == "tinyconv" else {}
    return build_config("smoke", overrides={"space": space, "data.mirror": str(mirror), "runtime.threads": 1,
                                            **plugins, **overrides})


def smoke_run(path: Path, mirror: Path, space: str = "nb201") -> Path:
    RunDir(path).init(smoke_config(mirror, space))
    return path


def proxies_cli(run: Path, *extra: str) -> int:
    return main(["proxies", str(run), "--skeleton", "run", "--quiet", *extra])


# ------------------------------------------------------------------------------------- closed forms


def test_synflow_of_a_two_layer_net_is_twice_its_output_and_ignores_batchnorm():
    """Absolute weights, ones input: R = sum_j |b_j| sum_i |a_ji|, and each layer's sum of w dR/dw is R again."""
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(3, 4, bias=False), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 2, bias=False))
    a, b = net[0].weight.detach().abs().double(), net[3].weight.detach().abs().double()
    expected = 2 * float((b @ a @ torch.ones(3, dtype=torch.float64)).sum())
    batch = ProbeBatch(torch.randn(5, 3), torch.zeros(5, dtype=torch.long))
    assert PROXIES["synflow"](net, batch) == pytest.approx(expected, rel=1e-12)


def test_synflow_of_a_conv_net_matches_its_closed_form_and_stays_finite_beyond_float32():
    """A 1x1 conv (c -> c, every weight w) then a linear layer (every weight v) on ones over p pixels:
    R = p c^2 w v summed over 1 output, and synflow = 2 R; with w = 2^100, R overflows float32 but not float64."""
    c, p, w, v = 3, 4, 2.0 ** 100, 2.0 ** 40  # exact in float32

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv, self.fc = nn.Conv2d(c, c, 1, bias=False), nn.Linear(c * p, 1, bias=False)

        def forward(self, x):
            return self.fc(self.conv(x).flatten(1))

    net = Net()
    with torch.no_grad():
        net.conv.weight.fill_(-w)  # made absolute by synflow
        net.fc.weight.fill_(v)
    batch = ProbeBatch(torch.randn(2, c, 2, 2), torch.zeros(2, dtype=torch.long))
    assert PROXIES["synflow"](net, batch) == pytest.approx(2 * p * c * c * w * v, rel=1e-12)


def test_naswot_kernel_counts_agreeing_units():
    batch = ProbeBatch(torch.zeros(2, 3), torch.zeros(2, dtype=torch.long))
    codes = ReluCodes(batch)
    codes.add(torch.tensor([[1, 0, 1], [1, 1, 0]], dtype=torch.bool))
    assert codes.kernel.tolist() == [[3, 1], [1, 3]]


def test_naswot_of_known_codes_is_the_log_determinant_and_every_relu_counts():
    """Three relu calls (module, functional, tensor method) on a 4-sample batch: K is the sum of their
    agreement matrices, and the score is log det K."""
    class Net(nn.Module):
        def forward(self, x):
            h = nn.ReLU()(x)
            g = nn.functional.relu(x - 1)
            return (x + 2).relu() + h + g

    x = torch.tensor([[1.0, -1.0, 2.0], [-1.0, 1.0, 0.5], [1.0, 1.0, 3.0], [-2.0, -1.0, 1.5]])
    kernel = np.zeros((4, 4))
    for codes in (x > 0, x - 1 > 0, x + 2 > 0):
        c = codes.numpy().astype(float)
        kernel += c @ c.T + (1 - c) @ (1 - c).T
    expected = np.linalg.slogdet(kernel)[1]
    assert PROXIES["naswot"](Net(), ProbeBatch(x, torch.zeros(4, dtype=torch.long))) == pytest.approx(expected)


def test_naswot_without_relu_is_nan():
    batch = ProbeBatch(torch.randn(4, 3), torch.zeros(4, dtype=torch.long))
    assert math.isnan(PROXIES["naswot"](nn.Linear(3, 2), batch))


def test_naswot_reads_activations_over_model_data_at_the_batch_indices():
    """Graph-style: the input indexes rows of data the model holds; an activation over all rows counts at the
    batch's rows, one over the batch as it is."""
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.register_buffer("data", torch.tensor([[1.0, -1.0], [-1.0, 2.0], [3.0, 1.0], [-1.0, -1.0]]),
                                 persistent=False)

        def forward(self, index):
            hidden = torch.relu(self.data)  # all 4 rows
            return torch.relu(hidden[index] - 1.5)  # the batch's rows

    index = torch.tensor([2, 0, 1])
    data = Net().data
    kernel = np.zeros((3, 3))
    for codes in (data[index] > 0, torch.relu(data[index]) - 1.5 > 0):
        c = codes.numpy().astype(float)
        kernel += c @ c.T + (1 - c) @ (1 - c).T
    value = PROXIES["naswot"](Net(), ProbeBatch(index, torch.zeros(3, dtype=torch.long)))
    assert value == pytest.approx(np.linalg.slogdet(kernel)[1])


def test_jacov_of_a_linear_net_has_perfectly_correlated_gradients():
    """y = W x: every sample's input gradient is W^T 1, so the correlations are all 1: eigenvalues B, 0, ..."""
    torch.manual_seed(0)
    b, k = 6, 1e-5
    expected = -(math.log(b + k) + 1 / (b + k) + (b - 1) * (math.log(k) + 1 / k))
    batch = ProbeBatch(torch.randn(b, 5), torch.zeros(b, dtype=torch.long))
    # every row of the gradient is the same float32 sum (bit-equal), so the correlations are 1 to float64
    # rounding; the eigenvalues' float64 error (~1e-15) moves the 1/k terms by ~1e-10 relative, below 1e-6
    assert PROXIES["jacov"](nn.Linear(5, 3, bias=False), batch) == pytest.approx(expected, rel=1e-6)


def test_snip_and_grad_norm_of_softmax_regression_match_the_analytic_gradient():
    """Cross-entropy of logits W x: dL/dW = (softmax(W x) - onehot(y))^T x / B."""
    torch.manual_seed(0)
    net = nn.Linear(4, 3, bias=False)
    x, y = torch.randn(8, 4, dtype=torch.float64), torch.tensor([0, 1, 2, 0, 1, 2, 0, 1])
    w = net.weight.detach().double()
    grad = (torch.softmax(x @ w.T, 1) - nn.functional.one_hot(y, 3)).T @ x / len(y)
    batch = ProbeBatch(x.float(), y)
    # float32 gradients (sums over 8 samples of float32-rounded inputs) against float64: ~10 u = 6e-7 relative
    assert PROXIES["snip"](net, batch) == pytest.approx(float((w * grad).abs().sum()), rel=1e-5)
    assert PROXIES["grad_norm"](net, batch) == pytest.approx(float(grad.norm()), rel=1e-5)


# ------------------------------------------------------------------------------------- every space


@pytest.mark.parametrize("space", ["nb201", "macro", "channel-mobilenet", "channel-resnet", "graph", "tinyconv"])
def test_every_space_gives_finite_values(space, mirror, tmp_path):
    cfg = smoke_config(mirror, space)
    archs = get_space(space).sample(2, seed=1)
    table = compute_proxies(cfg, archs, tmp_path / "proxies.csv", ProxySettings(ALL, "run"), log=lambda _: None)
    assert list(table.columns) == ["key", *ALL] and len(table) == 2
    assert np.isfinite(table[list(ALL)].to_numpy(dtype=float)).all(), table


def test_benchmark_skeleton_is_the_paper_preset_model(mirror):
    assert skeleton_config(smoke_config(mirror), "benchmark").model.C == 16
    assert skeleton_config(smoke_config(mirror), "benchmark").model.N == 5
    assert skeleton_config(smoke_config(mirror, "macro"), "benchmark").model.width_mult == 1.0
    assert skeleton_config(smoke_config(mirror), "run").model.C == 4


def test_benchmark_skeleton_runs(mirror, tmp_path):
    archs = get_space("nb201").sample(2, seed=0)
    table = compute_proxies(smoke_config(mirror), archs, tmp_path / "p.csv", ProxySettings(("synflow", "naswot")),
                            log=lambda _: None)
    assert np.isfinite(table[["synflow", "naswot"]].to_numpy(dtype=float)).all()
    saved = json.loads((tmp_path / "p.config.json").read_text())["identity"]
    assert saved["model"]["C"] == 16 and saved["proxies"]["skeleton"] == "benchmark"


# ------------------------------------------------------------------------------------- the command


@pytest.fixture(scope="module")
def computed(tmp_path_factory, mirror) -> Path:
    run = smoke_run(tmp_path_factory.mktemp("proxies") / "run", mirror)
    assert proxies_cli(run, "--proxies", ",".join(ALL)) == 0
    return run


def test_command_covers_the_evaluation_sample_and_records_its_settings(computed):
    cfg = RunDir(computed).config()
    space = get_space("nb201")
    table = pd.read_csv(computed / "proxies.csv")
    assert list(table.columns) == ["key", *ALL]
    assert table.key.tolist() == sorted(space.format(a) for a in space.sample(cfg.eval.n_archs, cfg.eval.seed))
    header = json.loads((computed / "proxies.config.json").read_text())
    assert header["identity"]["proxies"] == {"proxies": list(ALL), "skeleton": "run", "batch_size": 64, "seed": 0}
    assert header["identity"]["model"] == {"C": 4, "N": 1, "bn_affine": False, "width_mult": 1.0}


@pytest.fixture
def fresh_cache(tmp_path, monkeypatch) -> Path:
    """An empty proxy cache: what this test computes is computed, not read back."""
    monkeypatch.setenv("WSNAS_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_same_command_gives_identical_bytes(computed, mirror, tmp_path, fresh_cache, capsys):
    again = smoke_run(tmp_path / "run", mirror)
    capsys.readouterr()
    assert proxies_cli(again, "--proxies", ",".join(ALL)) == 0
    assert "12 of 12 archs to compute" in capsys.readouterr().out
    assert (again / "proxies.csv").read_bytes() == (computed / "proxies.csv").read_bytes()


def test_another_table_reuses_the_machine_cache_to_the_same_bytes(computed, mirror, tmp_path, capsys):
    other = smoke_run(tmp_path / "run", mirror)  # another run of the same space: the same archs and identity
    capsys.readouterr()
    assert proxies_cli(other, "--proxies", ",".join(ALL)) == 0
    out = capsys.readouterr().out
    assert "12 of 12 archs from this machine's cache" in out and "to compute" not in out
    assert (other / "proxies.csv").read_bytes() == (computed / "proxies.csv").read_bytes()
    said: list[str] = []
    archs = [get_space("nb201").parse(k) for k in pd.read_csv(computed / "proxies.csv").key]
    compute_proxies(smoke_config(mirror), archs, tmp_path / "seed1.csv", ProxySettings(("synflow",), "run", seed=1),
                    log=said.append)
    assert any("12 of 12 archs to compute" in line for line in said)  # another identity: nothing to reuse


def test_values_do_not_depend_on_the_other_archs_or_their_order(computed, mirror, tmp_path):
    full = pd.read_csv(computed / "proxies.csv").set_index("key")
    space = get_space("nb201")
    archs = [space.parse(k) for k in reversed(full.index[::3])]
    table = compute_proxies(smoke_config(mirror), archs, tmp_path / "p.csv", ProxySettings(ALL, "run"),
                            log=lambda _: None).set_index("key")
    pd.testing.assert_frame_equal(table, full.loc[table.index], check_exact=True)


def test_partial_table_resumes_to_the_same_bytes(computed, mirror, tmp_path, fresh_cache, capsys):
    run = smoke_run(tmp_path / "run", mirror)
    (run / "proxies.config.json").write_bytes((computed / "proxies.config.json").read_bytes())
    pd.read_csv(computed / "proxies.csv").head(5).to_csv(run / "proxies.csv", index=False)  # as if killed
    capsys.readouterr()
    assert proxies_cli(run, "--proxies", ",".join(ALL)) == 0
    assert "7 of 12 archs to compute" in capsys.readouterr().out
    assert (run / "proxies.csv").read_bytes() == (computed / "proxies.csv").read_bytes()
    assert proxies_cli(run, "--proxies", ",".join(ALL)) == 0
    assert "all 12 archs already in" in capsys.readouterr().out


def _error(capsys, argv) -> str:
    capsys.readouterr()
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("wsnas: error: ") and err.count("\n") == 1 and "Traceback" not in err, err
    return err


def test_rerun_with_other_settings_is_refused_naming_them(computed, capsys):
    before = (computed / "proxies.csv").read_bytes()
    err = _error(capsys, ["proxies", str(computed), "--skeleton", "run", "--proxies", "synflow"])
    assert "proxies.csv was computed with other settings (proxies.proxies: saved" in err
    assert f"--proxies {','.join(ALL)} --skeleton run --batch-size 64 --proxy-seed 0" in err
    err = _error(capsys, ["proxies", str(computed), "--proxies", ",".join(ALL)])  # the benchmark skeleton
    assert "model.C: saved 4, now 16" in err and "proxies.skeleton: saved 'run', now 'benchmark'" in err
    assert (computed / "proxies.csv").read_bytes() == before


def test_unknown_proxy_is_one_clear_error(computed, capsys):
    err = _error(capsys, ["proxies", str(computed), "--proxies", "synflow,zen"])
    assert "unknown proxy 'zen'; choose from synflow, naswot, jacov, snip, grad_norm" in err
    with pytest.raises(ProxyError, match="names a proxy twice"):
        ProxySettings(("naswot", "naswot"))
