"""``growthkit deploy plan|apply|package|schedules``: the deployment steps of
``shared.deploy`` (``python -m shared.deploy`` stays as an alias), same options, same
output: each of its command modules registers its own parser here too.
"""

from __future__ import annotations

import importlib
from typing import Any


def register(groups: Any) -> None:
    """Add the ``deploy`` group, one command per ``shared.deploy`` command module."""
    from shared.deploy.__main__ import COMMANDS

    group = groups.add_parser(
        "deploy",
        help="plan, apply, package, schedules",
        description="Deploy the bundle (the same commands as python -m shared.deploy).",
    )
    commands = group.add_subparsers(dest="command", required=True)
    for module in COMMANDS:
        importlib.import_module(module).register(commands)
