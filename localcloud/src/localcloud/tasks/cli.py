"""``python -m localcloud tasks``: the local Cloud Tasks as a standalone process."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    """Add the ``tasks`` subcommand to ``python -m localcloud``."""
    parser = subparsers.add_parser(
        "tasks", help="serve the Cloud Tasks v2 gRPC API and dispatch HTTP tasks"
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8682)
    parser.add_argument(
        "--data-dir", type=Path, default=None, help="keep queues and tasks here across restarts"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> None:
    from localcloud.binding import PortInUse
    from localcloud.cli import refused, wait_for_signal
    from localcloud.tasks import start_tasks

    try:
        server = start_tasks(args.host, args.port, data_dir=args.data_dir)
    except PortInUse as err:
        refused(err, "--port")
    print(
        f"Cloud Tasks emulator on {server.address}; set CLOUD_TASKS_EMULATOR_HOST={server.address}",
        flush=True,
    )
    wait_for_signal()
    server.stop()
