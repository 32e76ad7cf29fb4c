"""``python -m stress`` (``make stress``): load and fault tests of the whole local stack.

Not part of ``make test``: it posts tens of thousands of requests over real HTTP on
127.0.0.1, kills the functions process, fails Firestore commits at random and restarts
everything, then reads Firestore back and prints what it found (see ``__main__``).
"""
