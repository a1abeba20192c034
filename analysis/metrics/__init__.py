"""Ranking metrics: how well a supernet's scores order architectures compared with benchmark ground truth.

Every function takes aligned 1-D arrays, one entry per architecture: ``score`` (the supernet's estimate,
higher = better) and ``truth`` (ground-truth accuracy, higher = better). numpy/scipy only, no torch.

Ties are never broken by position: correlations use tie-aware variants (tau-b, average ranks), and top-k
(and bottom-k) metrics return the exact expected value when ties at the k boundary are broken uniformly at
random. Sparse Kendall additionally treats true accuracies closer than a tolerance as ties (tie_buckets).

    inputs.py        the checks every metric makes (aligned arrays, enough archs, a k that fits)
    correlations.py  Kendall tau-b, Spearman, Pearson, weighted and sparse Kendall
    bootstrap.py     the vectorised bootstrap over archs, percentile CIs, the correlation summary
    topk.py          top-k and bottom-k figures, regret, the random-selection expectation
"""
from wsnas.analysis.metrics.bootstrap import (bootstrap_ci, bootstrap_values, correlation_summary, resample_indices,
                                              resampled_stat, stat_or_nan, undefined_interval, with_ci)
from wsnas.analysis.metrics.correlations import (CORRELATIONS, SPARSE_TOL, kendall_tau, pearson_r, sparse_kendall,
                                                 spearman_rho, tie_buckets, weighted_kendall)
from wsnas.analysis.metrics.inputs import MIN_ARCHS, MetricInputError, StatFn
from wsnas.analysis.metrics.topk import (inclusion_probability, kendall_in_topk, precision_at_bottom_k, precision_at_k,
                                         random_expected_best, regret, resolve_k, topk_best_truth, topk_table,
                                         topk_true_ranks)

__all__ = ["CORRELATIONS", "MIN_ARCHS", "SPARSE_TOL", "MetricInputError", "StatFn", "bootstrap_ci", "bootstrap_values",
           "correlation_summary", "inclusion_probability", "kendall_in_topk", "kendall_tau", "pearson_r",
           "precision_at_bottom_k", "precision_at_k", "random_expected_best", "regret", "resample_indices",
           "resampled_stat", "resolve_k", "sparse_kendall", "spearman_rho", "stat_or_nan", "tie_buckets",
           "topk_best_truth", "topk_table", "topk_true_ranks", "undefined_interval", "weighted_kendall", "with_ci"]
