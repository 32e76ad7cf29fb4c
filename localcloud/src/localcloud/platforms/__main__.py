"""``python -m localcloud.platforms --port 8690``: serve every platform stand-in until
interrupted; ``/_admin`` shows what was posted."""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from typing import Any

from localcloud.platforms.server import PLATFORMS, PortInUseError, start_platforms

DEFAULT_PORT = 8690


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m localcloud.platforms")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="0: any free port")
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    stop = threading.Event()

    def request_stop(*_: Any) -> None:
        stop.set()  # only a flag: the main thread does the stopping

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, request_stop)
    try:
        server = start_platforms(args.host, args.port)
    except PortInUseError as err:
        raise SystemExit(f"error: {err.strerror}") from None
    names = ", ".join(f"{server.url}/{cls.name}" for cls in PLATFORMS)
    print(f"platform stand-ins on {names}; what was posted: {server.url}/_admin", flush=True)
    while not stop.wait(0.2):
        pass
    server.stop()


if __name__ == "__main__":
    main()
