"""``growthkit company ...``: create, list, rotate-form-key.

Thin on purpose: each command parses, calls ``shared.services.companies`` and prints.
"""

from __future__ import annotations

import argparse
import json
from datetime import datetime, timedelta
from typing import Any

from msgspec.structs import asdict

from shared.cli import runtime


def register(groups: Any) -> None:
    """Add the ``company`` group and its commands."""
    group = groups.add_parser("company", help="set up companies and move their data")
    commands = group.add_subparsers(dest="command", required=True)
    _register_create(commands)
    listing = commands.add_parser("list", help="one line per company")
    listing.add_argument("--json", action="store_true", help="one JSON object per line")
    listing.set_defaults(run=_list)
    rotate = commands.add_parser("rotate-form-key", help="issue a new public form key")
    rotate.add_argument("id")
    rotate.add_argument(
        "--grace-days", type=float, default=7.0, help="days the old key keeps working (7)"
    )
    rotate.add_argument("--json", action="store_true", help="print a JSON object")
    rotate.set_defaults(run=_rotate)


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


def _list(args: argparse.Namespace) -> int:
    from shared.services.companies import list_companies

    for company in list_companies(runtime.store()):
        if args.json:
            _print_json(asdict(company))
            continue
        created = company.created_at.date().isoformat() if company.created_at else "-"
        print(f"{company.id}\t{company.name}\t{created}\t{company.staff} staff")
    return 0


def _rotate(args: argparse.Namespace) -> int:
    from shared.services.companies import rotate_form_key

    grace = timedelta(days=args.grace_days)
    key, until = rotate_form_key(runtime.store(), _now(), args.id, grace)
    if args.json:
        _print_json({"company_id": args.id, "form_key": key, "previous_key_until": until})
    else:
        print(key)
    return 0
