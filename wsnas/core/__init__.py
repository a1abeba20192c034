"""The core every layer builds on: config, errors, atomic writes, the run directory and its files, replicate
groups, score-set identities, plugins. Imports nothing else of wsnas (the layer test checks it)."""
VERSION = "0.1.0"
