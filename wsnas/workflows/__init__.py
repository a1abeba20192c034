"""Workflows: the jobs that train (wsnas.supernets) and then analyse (wsnas.analysis). The only layer besides the
commands that may import both."""
