"""``growthkit``: the operator's command (a console script of the distribution).

One module per command group (``company``, ``migrate``, ``deploy``), each with
``register(subparsers)`` adding its parser and setting ``run=`` to a function that takes
the parsed arguments and returns the exit status. The modules only parse, call a service
and print; the work is in ``shared.services``.

Results go to stdout (JSON where a script will read them); a refusal is exit status 1
with one line on stderr, ``growthkit: <what is wrong>``; usage errors are argparse's
(status 2). Where the commands act is ``shared.cli.runtime``'s business.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

COMMANDS = ("shared.cli.company", "shared.cli.migrate", "shared.cli.deploy")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="growthkit",
        description="Operate growthkit: set up companies, migrate their data, deploy.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log what happens")
    groups = parser.add_subparsers(dest="group", required=True)
    for module in COMMANDS:
        importlib.import_module(module).register(groups)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command; returns its exit status (the console script exits with it)."""
    args = build_parser().parse_args(argv)
    _log_to_stderr(args.verbose)
    try:
        status: int = args.run(args)
    except KeyboardInterrupt:
        print("growthkit: interrupted", file=sys.stderr)
        return 130
    except Exception as err:
        message = _refusal(err)
        if message is None:
            raise
        logging.getLogger("growthkit.cli").debug("refused", exc_info=True)
        print(f"growthkit: {message}", file=sys.stderr)
        return 1
    return status


def _refusal(err: Exception) -> str | None:
    """The one line for an expected failure; None for a bug (its traceback is shown)."""
    from shared.cli.runtime import UsageError
    from shared.errors import DomainError

    if isinstance(err, DomainError):
        return err.message
    if isinstance(err, UsageError):
        return str(err)
    from google.api_core import exceptions as gexc
    from google.auth import exceptions as auth_exc

    if isinstance(err, gexc.GoogleAPIError | auth_exc.GoogleAuthError):
        return f"Google refused or could not be reached: {err}"
    return None


def _log_to_stderr(verbose: bool) -> None:
    """Warnings (everything with ``-v``) on stderr, unless the process has set up its own
    logging (commands run in-process by a test keep pytest's)."""
    root = logging.getLogger()
    if root.handlers:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("growthkit: %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(logging.INFO if verbose else logging.WARNING)
