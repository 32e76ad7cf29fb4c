"""``localcloud mailbox --smtp-port 1025 --http-port 8025``: the local mailbox alone."""

from __future__ import annotations

import argparse
from typing import Any

from localcloud.binding import PortInUse

SMTP_PORT, HTTP_PORT = 1025, 8025


def _mailbox(args: argparse.Namespace) -> None:
    from localcloud.cli import refused, wait_for_signal
    from localcloud.mailbox import start_mailbox

    try:
        mailbox = start_mailbox(args.host, args.smtp_port, args.http_port)
    except PortInUse as err:
        refused(err, "--smtp-port" if "SMTP" in err.service else "--http-port")
    print(f"SMTP on {mailbox.smtp_address}; the mailbox at {mailbox.url}/", flush=True)
    wait_for_signal()
    mailbox.stop()


def register(sub: Any) -> None:
    """Add the ``mailbox`` subcommand."""
    parser = sub.add_parser("mailbox", help="an SMTP server and a page showing what it got")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--smtp-port", type=int, default=SMTP_PORT)
    parser.add_argument("--http-port", type=int, default=HTTP_PORT)
    parser.set_defaults(run=_mailbox)
