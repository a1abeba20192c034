"""`wsnas bench`: wsnas's training and evaluation speed side by side with a peer and a naive baseline.

In one run, on one machine, with the same data and shapes (dataloader_baselines holds the baselines). Every
contender of a measurement runs once per round, in turn (ABC ABC ...), for `rounds` rounds: each figure is the
median with its range, each ratio the median (and range) of the round-by-round ratios, so a passing load hits
every contender alike; a figure whose rounds spread widely, or a fit with a low R^2, is flagged as measured on a
busy machine.
  train    supernet training images/s on NAS-Bench-201 at each shape: wsnas (train.py's epoch loop: on-device
           uint8 data and augmentation, dead paths skipped, at its autotuned runtime) against (a) xautodl's
           random-sampling supernet fed by a torchvision-style DataLoader, in fp32 and the contiguous format as
           its users run it, (b) wsnas's supernet fed by that DataLoader, at wsnas's runtime (what the on-device
           pipeline gives), (c) the same supernet stepped on batches made beforehand, with no loop around it (what
           the training loop costs); same steps, batch and path stream, warm-up steps excluded;
  eval     subnets/min with BN recalibration: SubnetScorer.score_many (staged scoring, at its autotuned runtime,
           and in fp32 contiguous) against a naive evaluator (standalone network rebuilt per subnet, DataLoader
           input, fp32 contiguous) on the same weights, archs and images; fp32 accuracies must be identical;
  scaling  wall time of `train` against epochs and of `evaluate` against subnets, each a fitted line (fixed
           overhead + per-unit cost), with peak memory, per space;
  profile  torch.profiler of training steps and of staged scoring: shares of the conv/BN/matmul ops, of the
           data pipeline and of the rest; FLOPs per subnet scored whole and staged; FLOP/s achieved against a
           measured matmul peak in the precision the run computes in;
  layout   forward + backward milliseconds of a batch norm and of a ReLU-conv3x3 at each NB201 stage's width and
           resolution of the last training shape, contiguous against channels_last, interleaved: what the
           autotune's `wide` layout rests on (runtime.py).
Everything goes to OUT/bench.json (atomically, with the config and machine facts), with a flat `figures` table
that `wsnas bench --compare OLD.json` compares with a saved bench. `wsnas bench --gpu` runs the GPU check instead.

One module per part: sizes (sizes and shapes), train_throughput, eval_throughput, scaling, profile (and the matmul
peak), layout, report (the figures table and the text), measure (interleaved rounds, timers, machine facts,
--compare), dataloader_baselines (what wsnas is measured against), gpu_check. The run that strings them together
and ranks the fidelity check with Kendall's tau is wsnas.workflows.bench; the command, wsnas.commands.bench.
"""
