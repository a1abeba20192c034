"""The weight-sharing search methods on wsnas's supernets (`wsnas search`): RSPS, ENAS, DARTS-V1/V2, GDAS, SNAS and
GAEA. Each method owns its arch parameters or controller, outside the supernet's parameters; the supernet runs the
arch entries a method hands it (wsnas.supernets.selection)."""
