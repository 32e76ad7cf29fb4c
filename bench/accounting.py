"""Functions that account for each invocation: what it read and wrote in Firestore, and
how long it took.

``python -m bench.accounting --manifest FILE --port N --counters URL --database DB --log
FILE`` serves a manifest's functions as ``localcloud.functions_host`` does, one request
at a time: around each, it reads the local Firestore's counters (its debug endpoint,
``GET /counters``) and appends a JSON line to the log: the function, the status, the
seconds, and the RPCs and billed documents (reads, writes, deletes) of the database.
Only one invocation runs at a time, so the difference is that invocation's alone.
Requests that arrive meanwhile (Cloud Tasks dispatches many at once) wait their turn;
the waiting is not counted.
"""

from __future__ import annotations

import argparse
import json
import logging
import threading
import time
import urllib.request
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

Counters = Callable[[], dict[str, dict[str, int]]]
# Kept in the log: a periodic function's answer says which run and page it was.
ANSWER_BYTES = 2000


def http_counters(url: str, database: str) -> Counters:
    """The database's RPCs and documents, read from the local Firestore's debug endpoint."""

    def read() -> dict[str, dict[str, int]]:
        with urllib.request.urlopen(url, timeout=10) as res:
            body = json.load(res)
        return {
            "rpcs": body["by_database"].get(database, {}),
            "documents": body.get("documents", {}).get(database, {}),
        }

    return read


def delta(after: dict[str, dict[str, int]], before: dict[str, dict[str, int]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for kind, counts in after.items():
        out[kind] = {k: v - before.get(kind, {}).get(k, 0) for k, v in counts.items()}
        out[kind] = {k: v for k, v in out[kind].items() if v}
    return out


class Accounting:
    """WSGI middleware: one request at a time, each one's counters and time logged."""

    def __init__(self, app: Any, counters: Counters, log: Path) -> None:
        self.app, self.counters, self.log = app, counters, log
        self.lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        # Read first: the router moves the function's name out of PATH_INFO.
        function = environ.get("PATH_INFO", "/").strip("/").split("/")[0]
        with self.lock:
            before = self.counters()
            started = time.perf_counter()
            status: list[str] = []

            def capture(code: str, headers: Any, *rest: Any) -> Any:
                status.append(code)
                return start_response(code, headers, *rest)

            body = b"".join(self.app(environ, capture))
            seconds = time.perf_counter() - started
            used = delta(self.counters(), before)
        record = {
            "function": function,
            "status": int(status[0].split()[0]) if status else 0,
            "seconds": seconds,
            **used,
            "answer": body[:ANSWER_BYTES].decode("utf-8", "replace"),
        }
        with self.log.open("a", encoding="utf-8") as out:
            out.write(json.dumps(record) + "\n")
        return [body]


class FileClock:
    """The functions' clock, ahead or behind by the seconds written in a file: the bench
    plays a business's day as yesterday, then reminders days later."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def now(self) -> datetime:
        try:
            offset = float(self.path.read_text(encoding="utf-8") or 0)
        except (OSError, ValueError):
            offset = 0.0
        return datetime.now(UTC) + timedelta(seconds=offset)


def read_log(log: Path) -> list[dict[str, Any]]:
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines() if line]


def main(argv: list[str] | None = None) -> None:
    from werkzeug.serving import make_server

    from localcloud.functions_host import build_app
    from localcloud.manifest import load_manifest

    parser = argparse.ArgumentParser(prog="python -m bench.accounting")
    parser.add_argument("--manifest", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--counters", required=True, help="the Firestore debug /counters URL")
    parser.add_argument("--database", required=True, help="projects/P/databases/(default)")
    parser.add_argument("--log", type=Path, required=True)
    parser.add_argument("--clock-file", type=Path, help="seconds to move the clock by")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)  # the log file is the output here
    if args.clock_file is not None:
        from shared import bootstrap

        bootstrap.clock = FileClock(args.clock_file)  # type: ignore[assignment]
    app = Accounting(
        build_app(load_manifest(args.manifest)),
        http_counters(args.counters, args.database),
        args.log,
    )
    make_server("127.0.0.1", args.port, app, threaded=True).serve_forever()


if __name__ == "__main__":
    main()
