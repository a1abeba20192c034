"""The built-in search spaces, one folder each, in the shape of a plugin space (examples/tinyconv):

    benchmarks/spaces/<space>/
        space.py      the SearchSpace subclass: parse, format, enumerate, presets, slots and the hooks
                      (features -> cost, ground_truth -> the truth loader)
        <encoding>    the arch format without the class: nb201/cell.py, nb101/spec.py, darts/genotype.py,
                      graph/arch.py (macro and channel keep theirs in space.py)
        cost.py       parameters and FLOPs on the benchmark's skeleton, where separate
        truth.py      the ground-truth loader and its pinned files, where the space has its own
                      (nb201, graph; macro and channel share wsnas.benchmarks.xiusu_truth, nb101 and darts
                      wsnas.benchmarks.naslib_truth)
        ...           what else is the space's own: nb201/official.py (imports the official .pth file; the one
                      torch import of the layer, inside its function), graph/datasets.py (the pinned Planetoid
                      files the graph supernet trains on)

Plain Python, no torch: each space's network lives in wsnas.supernets, which imports the space's encoding.
Arrows point one way: space.py -> cost.py, truth.py -> <encoding> -> wsnas.benchmarks.space; the registry
(wsnas.benchmarks.registry) imports every space.py, and wsnas.benchmarks.all_sources every pinned file.
A new built-in space is this folder, a line in the registry and, if it pins files, one in all_sources.
"""
