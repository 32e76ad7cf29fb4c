"""``growthkit company ...``: create.

Thin on purpose: each command parses, calls ``shared.services.companies`` and prints.
"""

from __future__ import annotations

import argparse
import json
from datetime import datetime
from typing import Any

from msgspec.structs import asdict

from shared.cli import runtime


def register(groups: Any) -> None:
    """Add the ``company`` group and its commands."""
    group = groups.add_parser("company", help="set up companies and move their data")
    commands = group.add_subparsers(dest="command", required=True)
    _register_create(commands)


def _register_create(commands: Any) -> None:
    create = commands.add_parser("create", help="a company, its form key and first admin")
    create.add_argument("id", help="2-63 lower-case letters, digits and hyphens")
    create.add_argument("--name", required=True)
    create.add_argument("--admin-email", required=True)
    create.add_argument(
        "--origin", action="append", default=[], help="a site allowed to post (repeat)"
    )
    create.add_argument("--timezone", default="UTC", help="IANA time zone (UTC)")
    create.add_argument("--postal-address", help="for marketing e-mail footers")
    create.set_defaults(run=_create)


def _now() -> datetime:
    from shared import bootstrap

    return bootstrap.clock.now()


def _print_json(value: Any) -> None:
    print(json.dumps(value, default=_plain, ensure_ascii=False))


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON")


def _create(args: argparse.Namespace) -> int:
    from shared.domain.company_setup import company_setup
    from shared.services.companies import create_company

    setup = company_setup(
        id=args.id,
        name=args.name,
        admin_email=args.admin_email,
        origins=args.origin,
        time_zone=args.timezone,
        postal_address=args.postal_address,
    )
    created = create_company(runtime.store(), runtime.user_admin(), _now(), setup)
    _print_json(asdict(created))
    return 0
