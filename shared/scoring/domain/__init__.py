"""The scoring feature's pure models and rules (no I/O)."""
