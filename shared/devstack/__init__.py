"""growthkit's local development stack: localcloud given growthkit's manifest and set-up.

localcloud (a distribution of its own, in ``localcloud/``) knows nothing of growthkit.
This package is what it needs from us: the manifest converted from ``shared.manifest`` and
``shared.queues`` (``manifest``), and the stack that ``make serve`` runs (``stack``): the
functions' environment and secrets key, firestore.rules, the demo company and its admin,
the example business website. Development only: the deploy package leaves it out.
"""
