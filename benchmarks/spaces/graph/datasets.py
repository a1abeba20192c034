"""The graph space's datasets: the Planetoid citation graphs (Cora, CiteSeer) as pinned upstream files, which
wsnas.supernets reads for training (torch_geometric's Planetoid format)."""
from __future__ import annotations

from wsnas.benchmarks.sources import Source

# Planetoid citation graphs (kimiyoung/planetoid), the raw ind.<dataset>.<part> files torch_geometric's Planetoid
# reads: {dataset: ((part, sha256, bytes), ...)}; each is the source planetoid_<dataset>_<part>.
_PLANETOID = "https://raw.githubusercontent.com/kimiyoung/planetoid/af6abf468a772cc055bec88c52e4d6f51b7c37e3/data/"
PLANETOID_FILES: dict[str, tuple[tuple[str, str, int], ...]] = {
    "cora": (("x", "23cfa55d91c6f624233f5eb7b6e3f141f1bd2b2ae39608a63cf5d084bb27baab", 22119),
             ("tx", "b9afbaa4a400df991f6f02ef677e1e44da55ffc04801fd02f9e673987829226a", 148025),
             ("allx", "9419ba2f26f5c35243db64aba110e0f35a04851609e0dc5433450676ca6b8543", 257305),
             ("y", "94465c14eb53e04ca262198dcbb2521ee8af60fb3f3d546cd6ca24a511b0e7d1", 4054),
             ("ty", "41f5ac76596a1699cc33f53084a2419e92961c42bb75f36fc38e616d348532ad", 28135),
             ("ally", "2b998f5cc7fedc86e7f97ca2498f47a1ffc1462c29e2d578b23bf3f62b6e7d71", 47959),
             ("graph", "58f13302f39dde8852dad6fe6d15b89b077b6d7f837626bce671ef80344b383d", 59847),
             ("test.index", "297ce89af2b51a6a194181c7dbe1796c6a1cf9cd9349a88383b1b1e227867875", 5000)),
    "citeseer": (("x", "d20de19150741e555de0ed037195630fc194114ebc7fd72ced62810148aa22f6", 31087),
                 ("tx", "539a8906a2da97628d212f2fdd668c109a8b3f0d36574b59e5d3fd5b5303da21", 260321),
                 ("allx", "2ac30345d95c9ec933a817ee0bdd6a5f077f8c184a20e696910192d534414668", 595021),
                 ("y", "8ba87e515d8e3ee3cf52f6d2c5b86aa73f11ecad825a808455209ec26cd54924", 3014),
                 ("ty", "55e5bd1ba1e733a04598753ad1a8d57957f4b8f89e74519f41f4f4938767e4ce", 24135),
                 ("ally", "f704b2d986dde6c2669934de1f3ae5696a6cf9455c0f6b2646a2d135ea0a1c95", 55623),
                 ("graph", "d79a4ef9d3e7169aee8946145f6b7306e35bc79bffad26346cfb94e10e9912a7", 61987),
                 ("test.index", "2af990671580b6b2df5d158d1038f8292e30c9cd821b5453f399659b25b723d4", 5000)),
}
PLANETOID_SOURCES: dict[str, Source] = {
    f"planetoid_{dataset}_{part}": Source(f"planetoid_{dataset}_{part}", f"{_PLANETOID}ind.{dataset}.{part}", sha256,
                                          f"datasets/planetoid/ind.{dataset}.{part}", size)
    for dataset, files in PLANETOID_FILES.items() for part, sha256, size in files}
