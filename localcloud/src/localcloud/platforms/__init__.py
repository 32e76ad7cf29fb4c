"""Local stand-ins of the publishing and messaging platforms, speaking their documented HTTP
APIs on one port: LinkedIn, X, Facebook (and Instagram), WordPress, Twilio, and a generic
webhook sink. Each records what it received and created, honours only the tokens it issued
or was given, and fails on demand the way the real one does.

    server = start_platforms()            # a free port on 127.0.0.1
    server.grant("x", "t0ken", subject="2244994945")
    requests.post(server.base_url("x") + "/2/tweets", json={"text": "hi"},
                  headers={"Authorization": "Bearer t0ken"})
    server.posts("x")                     # what was published
"""

from localcloud.platforms.server import PlatformServer, PortInUseError, start_platforms

__all__ = ["PlatformServer", "PortInUseError", "start_platforms"]
