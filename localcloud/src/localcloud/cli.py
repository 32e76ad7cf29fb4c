"""Argument parsing for ``localcloud`` (or ``python -m localcloud``): one subcommand per
local service, and ``serve`` for all of them with a project's functions."""

from __future__ import annotations

import argparse
import importlib
import logging
import signal
import time
from pathlib import Path
from typing import NoReturn

from localcloud.binding import PortInUse

# Each service adds its own subcommand: ``register(subparsers)`` in its ``cli`` module.
_SERVICE_CLIS = (
    "localcloud.tasks.cli",
    "localcloud.scheduler.cli",
    "localcloud.mailbox.cli",
    "localcloud.serve",
)


def refused(err: PortInUse, flag: str) -> NoReturn:
    """A port in use: one line on stderr naming the flag to change, exit status 1."""
    raise SystemExit(f"localcloud: {err.hinted(f'pass {flag} with another port')}")


def _firestore(args: argparse.Namespace) -> None:
    from localcloud.firestore import start_firestore
    from localcloud.firestore.rules import RulesSyntaxError

    try:
        server = start_firestore(
            args.host,
            args.port,
            data_dir=args.data_dir,
            import_dir=getattr(args, "import"),
            export_on_exit=args.export_on_exit,
            debug_port=args.debug_port,
            rules_path=args.rules,
        )
    except RulesSyntaxError as err:
        raise SystemExit(f"error: {err}") from None
    except PortInUse as err:
        refused(err, "--debug-port" if "debug" in err.service else "--port")
    print(
        f"Firestore emulator on {server.address}; set FIRESTORE_EMULATOR_HOST={server.address}",
        flush=True,
    )
    wait_for_signal()
    server.stop()


_stop_requested = False


def _request_stop(*_: object) -> None:
    # Only set a flag: anything that takes a lock in a signal handler can deadlock.
    global _stop_requested  # noqa: PLW0603 - the one piece of state a signal may touch
    _stop_requested = True


def install_signal_handlers() -> None:
    """Catch SIGINT/SIGTERM from process start, so a stop that arrives while a server is
    still starting is not lost (and the server still exports its data on the way out)."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _request_stop)


def wait_for_signal() -> None:
    """Block until SIGINT or SIGTERM (installed by ``main`` before anything starts)."""
    if signal.getsignal(signal.SIGTERM) is not _request_stop:
        install_signal_handlers()
    while not _stop_requested:
        time.sleep(0.2)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m localcloud")
    parser.add_argument("--log-level", default="INFO", help="DEBUG logs one line per RPC")
    sub = parser.add_subparsers(dest="command", required=True)
    fs = sub.add_parser("firestore", help="serve the Firestore v1 gRPC API")
    fs.add_argument("--host", default="127.0.0.1")
    fs.add_argument("--port", type=int, default=8681)
    fs.add_argument(
        "--debug-port",
        type=int,
        default=None,
        help="HTTP port for /counters and the reset endpoint",
    )
    fs.add_argument(
        "--data-dir", type=Path, default=None, help="load from and write ahead to this directory"
    )
    fs.add_argument("--import", type=Path, default=None, help="load an export at start")
    fs.add_argument("--export-on-exit", type=Path, default=None, help="save everything at exit")
    fs.add_argument(
        "--rules", type=Path, default=None, help="enforce this firestore.rules (default: open)"
    )
    fs.set_defaults(run=_firestore)
    for module in _SERVICE_CLIS:
        try:
            importlib.import_module(module).register(sub)
        except ModuleNotFoundError as err:
            if err.name is None or not module.startswith(err.name):
                raise
    return parser


def configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )


def main(argv: list[str] | None = None) -> None:
    install_signal_handlers()
    args = build_parser().parse_args(argv)
    configure_logging(args.log_level)
    args.run(args)
