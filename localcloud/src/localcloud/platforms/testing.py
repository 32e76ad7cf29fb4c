"""pytest fixtures of the platform stand-ins, for any project's tests.

Import them into a ``conftest.py``::

    from localcloud.platforms.testing import platform_server, platforms  # noqa: F401

``platform_server`` is one server for the whole session; ``platforms`` is that server with
nothing recorded, granted, registered or queued, for one test.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from localcloud.platforms import start_platforms
from localcloud.platforms.server import PlatformServer


@pytest.fixture(scope="session")
def platform_server() -> Iterator[PlatformServer]:
    """The publishing and messaging platform stand-ins, one server for the session."""
    server = start_platforms()
    yield server
    server.stop()


@pytest.fixture
def platforms(platform_server: PlatformServer) -> PlatformServer:
    """The platform stand-ins with nothing recorded, granted, registered or queued."""
    platform_server.reset()
    return platform_server
