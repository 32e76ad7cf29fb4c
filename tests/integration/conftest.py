"""Fixtures of the integration tests beyond the shared ones (tests/conftest.py)."""

from tests.integration.periodic_support import cloud

__all__ = ["cloud"]
