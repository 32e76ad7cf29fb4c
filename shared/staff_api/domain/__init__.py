"""The staff_api feature's pure models and rules (no I/O)."""
