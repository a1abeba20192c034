"""wsnas: supernet ranking analysis for weight-sharing NAS.

Layers: ``wsnas.benchmarks`` (spaces and ground truth, plain Python), ``wsnas.supernets`` (torch models,
training and evaluation) and ``wsnas.analysis`` (metrics and reports, no torch).
"""
__version__ = "0.1.0"
