"""Run a fixed list of wsnas commands into OUT and write OUT/manifest.json: the sha256 of every output file.

A refactor that claims "no behaviour change" runs this before and after and diffs the two manifests:

    python tools/behaviour_snapshot.py OUT_BEFORE [--recorded runs/nb201-cpu]
    (change the code)
    python tools/behaviour_snapshot.py OUT_AFTER [--recorded runs/nb201-cpu]
    python tools/behaviour_snapshot.py --diff OUT_BEFORE OUT_AFTER

The commands: a smoke replicate group of every space with a supernet, its rank-disorder studies, the pruning,
noise and fine-tuning studies, a search, an audit of a score table, and (with --recorded) a re-analysis, the
studies and the report of a recorded default group. Runs single-threaded so the figures do not depend on the
thread count.

What may differ between two runs of the same code is normalised before hashing, and nothing else: the output
directory's own path, provenance (git commit, creation time), wall-clock columns and keys (any name holding
"seconds"), the report's "Generated ..." line and its time predictions ("about N min on this machine"), and inside
a checkpoint the zip archive's temporary folder name (a checkpoint is hashed by its loaded content).
Files that are only wall-clock (timings, runtime records) are listed but not hashed.
"""
from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd

SPACES = ("nb201", "macro", "channel-mobilenet", "channel-resnet", "graph", "nb101")
VOLATILE = ("score_timings.csv", "runtime.json", "train_log.csv", "timings.json", "study_time.json", ".lock",
            "wsnas.sqlite", "stdout.txt")
PROVENANCE_KEYS = {"git_commit", "created"}


def _is_clock(key: str) -> bool:
    """A provenance or wall-clock entry (seconds, cpu_seconds, seconds_per_subnet, cost_seconds, ...)."""
    return key in PROVENANCE_KEYS or "seconds" in key
TEXT_MASKS = (re.compile(r"Generated \d{4}-\d\d-\d\d \d\d:\d\d UTC"),
              re.compile(r"about [\d.,]+ (?:s|min|h) on this machine"))


def _drop_clock(tree: Any) -> Any:
    if isinstance(tree, dict):
        return {k: _drop_clock(v) for k, v in tree.items() if not _is_clock(k)}
    if isinstance(tree, list):
        return [_drop_clock(v) for v in tree]
    return tree


def normalised(path: Path, out: Path) -> bytes:
    """The file's content with what legitimately differs between two runs of the same code taken out."""
    if path.suffix == ".pt":
        import torch

        state = torch.load(path, map_location="cpu", weights_only=False)
        buffer = io.BytesIO()
        torch.save(state, buffer)  # the same content under the same archive name: the same bytes
        return buffer.getvalue()
    if path.suffix not in (".json", ".csv", ".md", ".html", ".txt"):
        return path.read_bytes()
    text = path.read_text().replace(str(out), "OUT")
    for mask in TEXT_MASKS:
        text = mask.sub("<masked>", text)
    if path.suffix == ".json":
        return json.dumps(_drop_clock(json.loads(text)), sort_keys=True).encode()
    if path.suffix == ".csv":
        table = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
        return table.drop(columns=[c for c in table.columns if _is_clock(c)]).to_csv(index=False).encode()
    return text.encode()


def commands(out: Path, recorded: Path | None) -> list[list[str]]:
    """The wsnas invocations, each a list of arguments after `wsnas`."""
    runs = [["study", "--preset", "smoke", "--space", s, "--replicates", "2", "--run-dir", str(out / s), "--quiet"]
            for s in SPACES]
    runs += [["studies", str(out / "nb201")],
             ["prune-study", "--preset", "smoke", "--out", str(out / "prune"), "--quiet"],
             ["noise-study", str(out / "nb201"), "--quiet"],
             ["finetune-study", str(out / "nb201" / "rep-0"), "--quiet"],
             ["search", "--preset", "smoke", "--method", "rsps", "--seeds", "0", "--run-dir", str(out / "search"),
              "--quiet"],
             ["audit", "--scores", str(out / "nb201" / "rep-0" / "scores.csv"), "--space", "nb201",
              "--out", str(out / "audit"), "--quiet"],
             ["report", str(out / "nb201"), str(out / "prune"), "--name", "smoke", "--out-root", str(out / "reports"),
              "--quiet"]]
    if recorded is not None:
        copy = out / "recorded"
        runs += [["analyze", str(copy)], ["studies", str(copy)],
                 ["report", str(copy), "--name", "recorded", "--out-root", str(out / "reports"), "--quiet"]]
    return runs


def snapshot(out: Path, recorded: Path | None) -> None:
    out.mkdir(parents=True, exist_ok=False)
    if recorded is not None:
        shutil.copytree(recorded, out / "recorded", ignore=shutil.ignore_patterns("checkpoints"))
    env = {**os.environ, "OMP_NUM_THREADS": "1", "WSNAS_DB": str(out / "wsnas.sqlite")}
    log = (out / "stdout.txt").open("w")
    for args in commands(out, recorded):
        print("wsnas", " ".join(args), flush=True)
        log.write("$ wsnas " + " ".join(args) + "\n")
        log.flush()
        done = subprocess.run([sys.executable, "-m", "wsnas.cli", *args], env=env, stdout=log, stderr=log)
        if done.returncode:
            raise SystemExit(f"wsnas {' '.join(args)} failed ({done.returncode}); see {out / 'stdout.txt'}")
    rehash(out)


def rehash(out: Path) -> None:
    """OUT/manifest.json: every output file's normalised sha256."""
    manifest = {}
    for path in sorted(p for p in out.rglob("*") if p.is_file() and p.name != "manifest.json"):
        rel = str(path.relative_to(out))
        volatile = any(rel.endswith(v) for v in VOLATILE)
        manifest[rel] = "volatile" if volatile else hashlib.sha256(normalised(path, out)).hexdigest()
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1))
    print(f"{len(manifest)} files; manifest {out / 'manifest.json'}")


def diff(a: Path, b: Path) -> int:
    ma, mb = (json.loads((d / "manifest.json").read_text()) for d in (a, b))
    only = sorted(set(ma) ^ set(mb))
    changed = sorted(k for k in set(ma) & set(mb) if ma[k] != mb[k])
    for k in only:
        print(f"only in {'before' if k in ma else 'after'}: {k}")
    for k in changed:
        print(f"differs: {k}")
    same = sum(1 for k in set(ma) & set(mb) if ma[k] == mb[k] and ma[k] != "volatile")
    print(f"{same} files byte-identical, {len(changed)} differ, {len(only)} in one side only")
    return 1 if changed or only else 0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("out", nargs="?", type=Path)
    p.add_argument("--recorded", type=Path, help="a recorded default group to re-analyze (its scores are kept)")
    p.add_argument("--diff", nargs=2, type=Path, metavar=("BEFORE", "AFTER"))
    p.add_argument("--rehash", type=Path, metavar="OUT", help="rewrite OUT/manifest.json from its files")
    args = p.parse_args()
    if args.diff:
        return diff(*args.diff)
    if args.rehash:
        rehash(args.rehash)
        return 0
    if args.out is None:
        p.error("give OUT, or --diff BEFORE AFTER")
    snapshot(args.out, args.recorded)
    return 0


if __name__ == "__main__":
    sys.exit(main())
