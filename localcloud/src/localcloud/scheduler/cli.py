"""``python -m localcloud scheduler``: the local Cloud Scheduler as a standalone server."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def _run(args: argparse.Namespace) -> None:
    from localcloud.binding import PortInUse
    from localcloud.cli import refused, wait_for_signal
    from localcloud.scheduler import start_scheduler

    try:
        server = start_scheduler(args.host, args.port, data_dir=args.data_dir)
    except PortInUse as err:
        refused(err, "--port")
    print(
        f"Cloud Scheduler emulator on {server.address}; "
        f"set CLOUD_SCHEDULER_EMULATOR_HOST={server.address}",
        flush=True,
    )
    wait_for_signal()
    server.stop()


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("scheduler", help="serve the Cloud Scheduler v1 gRPC API")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8683)
    parser.add_argument(
        "--data-dir", type=Path, default=None, help="keep jobs in this directory across restarts"
    )
    parser.set_defaults(run=_run)
