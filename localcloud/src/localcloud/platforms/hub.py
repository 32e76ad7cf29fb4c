"""The state one server's platforms share, and the base class every platform extends."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import ClassVar

from localcloud.platforms.core import Faults, Records, Reply, Request, TokenRefused, Tokens
from localcloud.platforms.oauth import OAuth


@dataclass
class Hub:
    """Records, tokens, OAuth clients and queued faults of one server."""

    records: Records = field(default_factory=Records)
    tokens: Tokens = field(default_factory=Tokens)
    faults: Faults = field(default_factory=Faults)
    stopping: threading.Event = field(default_factory=threading.Event)
    oauth: OAuth = field(init=False)
    address: str = ""  # http://host:port once the server listens

    def __post_init__(self) -> None:
        self.oauth = OAuth(self.tokens)


class Platform:
    """One platform's stand-in: routes its requests and renders its own errors."""

    name: ClassVar[str]
    primary: ClassVar[str] = "post"  # the kind of object ``server.posts(name)`` lists

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        # Held from a uniqueness check to the create it allows (duplicate posts, slugs),
        # so two concurrent requests cannot both pass it.
        self.posting = threading.Lock()

    def handle(self, request: Request) -> Reply:
        raise NotImplementedError

    def fault_reply(self, kind: str, request: Request) -> Reply:
        """This platform's answer to an injected fault of ``kind`` (any but ``stall``)."""
        raise NotImplementedError

    def refused(self, err: TokenRefused) -> Reply:
        """This platform's answer to a missing, unknown, expired or revoked token."""
        raise NotImplementedError

    def reset(self) -> None:
        """Forget platform-specific set-up (pages, sites, hooks...)."""

    @property
    def records(self) -> Records:
        return self.hub.records

    @property
    def tokens(self) -> Tokens:
        return self.hub.tokens

    @property
    def oauth(self) -> OAuth:
        return self.hub.oauth
