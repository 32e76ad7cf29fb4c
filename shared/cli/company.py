"""``growthkit company ...``: create, list, rotate-form-key, export, import.

Thin on purpose: each command parses, calls ``shared.services.companies`` or
``shared.services.company_transfer`` and prints.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from msgspec.structs import asdict

from shared.cli import runtime

if TYPE_CHECKING:
    from shared.services.company_transfer import Progress


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
        "--grace-days", type=_days, default=7.0, help="days the old key keeps working (7)"
    )
    rotate.add_argument("--json", action="store_true", help="print a JSON object")
    rotate.set_defaults(run=_rotate)
    _register_transfer(commands)


def _days(text: str) -> float:
    """A number of days a ``timedelta`` can hold (the service says which are allowed)."""
    try:
        days = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of days: {text!r}") from None
    if not math.isfinite(days) or abs(days) > 36500:
        raise argparse.ArgumentTypeError(f"not a number of days: {text!r}")
    return days


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


def _register_transfer(commands: Any) -> None:
    export = commands.add_parser("export", help="every document of a company, as NDJSON")
    export.add_argument("id")
    export.add_argument("--out", required=True, type=Path, help="a new or empty directory")
    export.add_argument("--quiet", action="store_true", help="no progress on a terminal")
    export.set_defaults(run=_export)
    restore = commands.add_parser(
        "import",
        help="restore an export, under this or another id",
        description="Restore an export. Beware: where the functions are deployed, their "
        "Firestore triggers run for the imported documents as for new ones (an active "
        "workflow triggered by lead_created or form_submitted enrols the imported leads).",
    )
    restore.add_argument("id")
    restore.add_argument("--from", dest="source", required=True, type=Path, help="an export")
    restore.add_argument("--merge", action="store_true", help="into a company with documents")
    restore.add_argument("--quiet", action="store_true", help="no progress on a terminal")
    restore.set_defaults(run=_import)


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


def _export(args: argparse.Namespace) -> int:
    from shared.adapters.dump_files import DumpWriter
    from shared.services.company_transfer import export_company

    with _progress(args) as progress:
        data = runtime.company_data()
        done = export_company(data, DumpWriter(args.out), args.id, _now(), progress)
    _print_json({"company_id": done.company_id, "documents": done.documents, "out": str(args.out)})
    return 0


def _import(args: argparse.Namespace) -> int:
    from shared.adapters.dump_files import DumpReader
    from shared.services.company_transfer import import_company

    with _progress(args) as progress:
        data = runtime.company_data()
        done = import_company(DumpReader(args.source), data, args.id, args.merge, progress)
    _print_json(asdict(done))
    return 0


@contextlib.contextmanager
def _progress(args: argparse.Namespace) -> Iterator[Progress | None]:
    """A count rewritten in place on stderr when it is a terminal (not with ``--quiet``);
    nothing otherwise, so logs and pipes stay clean."""
    if args.quiet or not sys.stderr.isatty():
        yield None
        return

    def show(done: int, where: str) -> None:
        sys.stderr.write(f"\r\x1b[K{done} documents ({where})")
        sys.stderr.flush()

    try:
        yield show
    finally:
        sys.stderr.write("\n")
