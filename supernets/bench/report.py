"""The bench document's flat `figures` table (what `wsnas bench --compare` reads) and its text report."""
from __future__ import annotations

from typing import Any

from wsnas.supernets.bench.measure import figure
from wsnas.supernets.bench.sizes import TRAIN_BASELINES


def figures(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The flat table `--compare` reads: medians of every throughput and ratio, fits, profile figures."""
    out: dict[str, dict[str, Any]] = {}
    for row in doc["train"]:
        shape = row["shape"]
        for name in ("wsnas", *TRAIN_BASELINES):
            if "images_per_s" in row[name]:
                out[f"train_{shape}/{name} images/s"] = figure(row[name]["images_per_s"]["median"], "images/s")
        for name, ratio in row["ratios"].items():
            out[f"train_{shape}/wsnas over {name}"] = figure(ratio["median"], "x")
    e = doc["eval"]
    for name in ("wsnas", "wsnas_fp32", "naive"):
        out[f"eval/{name} subnets/min"] = figure(e[name]["subnets_per_min"]["median"], "subnets/min")
    for name, ratio in e["ratios"].items():
        out[f"eval/{name}"] = figure(ratio["median"], "x")
    for space, s in doc["scaling"].items():
        for key, unit in (("epochs_fit", "epoch"), ("subnets_fit", "subnet")):
            if key in s:
                out[f"scaling_{space}/seconds per {unit}"] = figure(s[key]["per_unit_s"], "s", higher_is_better=False)
    for part in doc["profile"]["train"]:
        out[f"profile_train_{part['shape']}/GFLOP/s"] = figure(part["achieved_gflops"], "GFLOP/s")
    out["profile_eval/MFLOP per subnet (staged)"] = figure(doc["profile"]["eval"]["mflop_per_subnet"], "MFLOP",
                                                           higher_is_better=False)
    out["peak/fp32 GFLOP/s"] = figure(doc["peak"]["fp32_gflops"], "GFLOP/s")
    return out


def format_report(doc: dict[str, Any]) -> str:
    """The side-by-side figures with their ratios, the scaling lines, the profile shares and the warnings."""
    def rng(s: dict[str, Any], fmt: str = ".0f") -> str:
        return f"{s['median']:{fmt}} [{s['min']:{fmt}}-{s['max']:{fmt}}]"

    peak = doc["peak"]
    lines = [f"wsnas bench ({doc['options']['size']} size, medians [range] of {doc['options']['rounds']} interleaved "
             f"rounds) on {doc['machine']['cpu']}, {doc['machine']['torch_threads']} threads",
             f"{'measurement':46} {'wsnas':>16} {'baseline':>16} {'ratio':>16}"]
    for row in doc["train"]:
        shape, w = f"C={row['C']} N={row['N']} batch {row['batch']}", row["wsnas"]
        lines.append(f"train {shape}: wsnas at {w['runtime']['amp']}, "
                     f"{w['runtime']['layout']}")
        for name, label in TRAIN_BASELINES.items():
            other = row[name]
            if "images_per_s" not in other:
                lines.append(f"  vs {label:40} {'skipped':>16}")
                continue
            lines.append(f"  vs {label:40} {rng(w['images_per_s']):>16} {rng(other['images_per_s']):>16} "
                         f"{rng(row['ratios'][name], '.2f'):>16}")
    e = doc["eval"]
    lines.append(f"eval C={e['C']} N={e['N']}, {e['subnets']} subnets, {e['calib_images']}+{e['eval_images']} images "
                 f"(subnets/min; wsnas at {e['wsnas']['runtime']['amp']}, "
                 f"{e['wsnas']['runtime']['layout']})")
    for name, ratio in e["ratios"].items():
        a, b = name.split(" over ")
        key = {"wsnas": "wsnas", "wsnas fp32": "wsnas_fp32", "naive": "naive"}
        lines.append(f"  {name:44} {rng(e[key[a]]['subnets_per_min'], '.1f'):>16} "
                     f"{rng(e[key[b.split(' (')[0]]]['subnets_per_min'], '.1f'):>16} {rng(ratio, '.2f'):>16}")
    sh, t = e["sharing"], e["tuned_vs_fp32"]
    lines.append(f"  naive: {e['naive_workers']} DataLoader workers (the faster); fp32 accuracies identical on all "
                 f"{e['subnets']} subnets (max |loss diff| {e['fp32_max_abs_loss_diff']:.2g}); staged ran "
                 f"{sh['distinct_steps']} of {sh['steps']} steps ({sh['distinct_functions']} distinct functions)")
    if t["max_abs_acc_diff"] or e["wsnas"]["runtime"]["amp"] != "off":
        lines.append(f"  wsnas's runtime against fp32: max |accuracy diff| {t['max_abs_acc_diff']:.2f} points, "
                     f"Kendall tau {t['kendall_tau']:.3f} "
                     f"(the fidelity check is `wsnas compare`)")
    for space, s in doc["scaling"].items():
        for unit, key in (("epoch", "epochs_fit"), ("subnet", "subnets_fit")):
            if key in s:
                fit = s[key]
                peak_mb = max(p["peak_rss_mb"] for p in s[key.split("_")[0]])
                lines.append(f"scaling {space}: {fit['overhead_s']:.1f} s + {fit['per_unit_s']:.2f} s/{unit} "
                             f"(R^2 {fit['r2']:.3f}), peak RSS {peak_mb:.0f} MB")
    for part in (*doc["profile"]["train"], doc["profile"]["eval"]):
        sh = part["shares"]
        lines.append(f"profile {part['what']} C={part['C']} N={part['N']} ({part['amp']}): conv/BN/matmul "
                     f"{sh['conv_bn_matmul']:.0%}, other ops {sh['other_ops']:.0%}, data {sh['data']:.0%}, overhead "
                     f"{sh['overhead']:.0%}; {part['achieved_gflops']:.1f} GFLOP/s = {part['fraction_of_peak']:.0%} of "
                     f"peak")
    lay = doc["layout"]
    lines.append(f"layout, {lay['amp']}, batch {lay['batch']}: forward + backward ms, contiguous / channels_last")
    for stage in lay["stages"]:
        ms = {name: s["median"] for name, s in stage["ms"].items()}
        lines.append(f"  {stage['channels']:3d} channels at {stage['pixels']:2d}x{stage['pixels']:<2d}: batch norm "
                     f"{ms['batch_norm/contiguous']:.2f} / {ms['batch_norm/channels_last']:.2f}, ReLU-conv3x3 "
                     f"{ms['relu_conv3x3/contiguous']:.2f} / {ms['relu_conv3x3/channels_last']:.2f}")
    p = doc["profile"]["eval"]
    lines.append(f"profile eval: {p['mflop_per_subnet']:.0f} MFLOP per subnet staged, {p['mflop_per_subnet_whole']:.0f} "
                 f"scored whole")
    lines.append(f"peak: {peak['fp32_gflops']:.1f} GFLOP/s fp32" + (f", {peak['bf16_gflops']:.1f} bf16"
                                                                    if "bf16_gflops" in peak else "")
                 + f" ({peak['how']})")
    lines.append(f"total {doc['seconds_total']:.0f} s; load average {doc['machine']['loadavg_start'][0]:.1f} at the "
                 f"start, {doc['machine']['loadavg_end'][0]:.1f} at the end")
    lines += [f"warning: {w}" for w in doc["warnings"]]
    return "\n".join(lines)
