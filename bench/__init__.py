"""Benchmarks of the bundle on the local stack: ``make bench`` (``python -m bench``).

Every figure is measured in one run on one machine and reported next to its reference
(a bare function, a naive implementation, the unsharded counter) from the same run, so
the ratios, not the absolute numbers, are what carry over to production.
"""
