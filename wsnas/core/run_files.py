"""The run directory's contract: every file name and every scores-table column, defined once.

Writers (wsnas.supernets) and readers (wsnas.analysis, the reports, the results database) name them through
this module, never as literals.

    RUN/config.json          resolved config + provenance of the training (RunDir.init)
    RUN/analyze_config.json  the effective config of the latest analyze
    RUN/score_sets.json      every score set's settings and provenance (wsnas.core.score_sets)
    RUN/scores.csv           one row per scored arch, checkpoint and score set: SCORE_COLUMNS
    RUN/scores.meta.json     the space and ground truth the scores were made against
    RUN/score_timings.csv    seconds per scored subnet (kept out of scores.csv, which is reproducible)
    RUN/shards/              the shards of a sharded evaluation (SHARD), merged into scores.csv
    RUN/.scores.lock         held while a process reads and rewrites the score files
    RUN/train_log.csv        one row per epoch
    RUN/runtime.json         what the runtime autotune chose, and on which machine (+ .runtime.lock)
    RUN/checkpoints/         epoch_XXXX.pt (CHECKPOINT)
    RUN/arch_pool.txt        the run's copy of train.arch_pool, when it trains on a pool
    RUN/landmarks.txt        the truth-labelled landmark archs of train.landmarks (never scored)
    RUN/metrics.json         ranking metrics against the ground truth
    RUN_OR_GROUP/study_time.json  where `wsnas study`'s time went: training, scoring, proxies, analysis, other
    GROUP/group.json         a replicate group's config; its members are GROUP/rep-<r>/ runs
    RUN_OR_GROUP/proxies.csv zero-cost proxies of the scored archs (+ proxies.config.json)
    DIR/studies/<name>.json  one document per rank-disorder study (wsnas.analysis.studies)
    RUN/search*.json|csv     a search run's outputs (SEARCH_*)
"""
from __future__ import annotations

CONFIG = "config.json"
ANALYZE_CONFIG = "analyze_config.json"
SCORES = "scores.csv"
SCORES_META = "scores.meta.json"  # beside a run's scores.csv: the space and ground truth they were made against
SCORE_TIMINGS = "score_timings.csv"
SHARDS_DIR = "shards"
SHARD = "scores-{index}-of-{count}.csv"  # shard `index` of `count` in SHARDS_DIR
SHARD_GLOB = "scores-*-of-*.csv"
SCORES_LOCK = ".scores.lock"
TRAIN_LOG = "train_log.csv"
RUNTIME = "runtime.json"
RUNTIME_LOCK = ".runtime.lock"
CHECKPOINTS_DIR = "checkpoints"
CHECKPOINT = "epoch_{epoch:04d}.pt"  # the checkpoint of an epoch in CHECKPOINTS_DIR
CHECKPOINT_PATTERN = r"epoch_(\d{4,})\.pt$"  # its name, the epoch in group 1
ARCH_POOL = "arch_pool.txt"
LANDMARKS = "landmarks.txt"  # the run's landmark archs (train.landmarks): excluded from every evaluation
METRICS = "metrics.json"
GROUP = "group.json"
MEMBER_PREFIX = "rep-"
PROXIES = "proxies.csv"
WORKER_LOG = "worker.log"  # a member trained side by side: its own output (wsnas.workflows.replicates)
STUDY_TIME = "study_time.json"  # where `wsnas study`'s time went (wall-clock: never part of a result)
STUDIES_DIR = "studies"  # DIR/studies/<name>.json: one document per study

# scores.csv columns
KEY = "key"  # the canonical arch key
ARCH_INDEX = "index"  # the arch's row in the ground truth (None when it has no index)
FUNCTION_KEY = "function_key"  # the key of its isomorphism class
EPOCH = "epoch"
SCORE_SET = "score_set"  # the hash of every setting that made the score (wsnas.core.score_sets)
BN_POLICY = "bn_policy"
CALIB_BATCHES = "calib_batches"
FINETUNE = "finetune_batches"  # fine-tuning steps before scoring (0 = plain; older files lack it)
N_EVAL = "n_eval"
SUPERNET_ACC = "supernet_acc"  # the supernet's score of a run
SUPERNET_LOSS = "supernet_loss"
SECONDS = "seconds"  # score_timings.csv: the seconds a subnet's score took (never in scores.csv)
SCORE_COLUMNS = (KEY, ARCH_INDEX, FUNCTION_KEY, EPOCH, SCORE_SET, BN_POLICY, CALIB_BATCHES, FINETUNE, N_EVAL,
                 SUPERNET_ACC, SUPERNET_LOSS)
SCORE_KEY = [KEY, EPOCH, SCORE_SET]  # one score per arch, checkpoint and score set
GROUP_KEYS = (EPOCH, BN_POLICY, FINETUNE, SCORE_SET)  # what a summary never mixes: one result per combination
TEXT_COLUMNS = {KEY: str, FUNCTION_KEY: str}  # arch keys may look like numbers ('01022212')

# a search run's outputs
SEARCH_LOG = "search_log.csv"
SEARCH_SHARES = "search_shares.csv"
SEARCH_RESULT = "search.json"
METHOD_SCORES = "method_scores.csv"
SEARCH_SUMMARY = "search_summary.json"
SNAS_TRADEOFF = "snas_tradeoff.json"
COMPARE_UNIFORM = "compare_uniform.json"
