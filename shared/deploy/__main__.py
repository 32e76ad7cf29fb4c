"""``python -m shared.deploy <command>``: one subcommand per deployment step (the same
commands as ``growthkit deploy <command>``, which registers these modules; this stays as
an alias).

Each command module has ``register(subparsers)``, which adds its parser and sets
``run=`` to a function taking the parsed arguments and returning the exit status. A new
command is one module and one line in ``COMMANDS``.
"""

from __future__ import annotations

import argparse
import importlib
import sys

COMMANDS = (
    "shared.deploy.schedules",
    "shared.deploy.plan",
    "shared.deploy.apply",
    "shared.deploy.package",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m shared.deploy")
    subparsers = parser.add_subparsers(dest="command", required=True)
    for module in COMMANDS:
        importlib.import_module(module).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    status: int = args.run(args)
    return status


if __name__ == "__main__":
    sys.exit(main())
