"""The built-in spaces' supernets and standalone networks, one module per space (torch).

Each module holds its space's supernet (called as `model(x, arch)`), the standalone network of one arch and
`extract_subnet(supernet, arch)`; wsnas.supernets.registry registers them under the space's name. The spaces
themselves (keys, enumeration, costs; no torch) are in wsnas.benchmarks. What the models share lives beside
this package: the slot entries of a relaxed arch (wsnas.supernets.selection) and the steps of staged scoring
(wsnas.supernets.stages).
"""
