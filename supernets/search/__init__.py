"""The weight-sharing search methods on wsnas's supernets (`wsnas search`): RSPS, ENAS, DARTS-V1/V2, GDAS, SNAS and
GAEA. Each method owns its arch parameters or controller, outside the supernet's parameters; the supernet runs the
arch entries a method hands it (wsnas.supernets.selection).

    base.py          Context, the one-batch scorer, Method, AlphaMethod (arch parameters), make_method
    rsps.py, enas.py, darts.py (V1 and V2), gdas.py, snas.py, gaea.py: one method's torch class each
    distribution.py  the factorised arch distribution (SlotParameters), Gumbel-softmax, the temperature schedule
    controller.py    ENAS's LSTM controller
    unrolled.py      DARTS-V2's unrolled arch gradient
    loop.py          a search run: the epochs, checkpoints, the derived arch and the method's own ranking

What the rest of wsnas knows of a method without torch (its name, level, data use, published settings and result,
and which class here runs it) is its record in wsnas.benchmarks.search_methods.
"""
