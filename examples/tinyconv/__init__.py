"""TinyConv, a worked example of a wsnas plugin space (see README.md here)."""
