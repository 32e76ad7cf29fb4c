"""``make serve``: localcloud's stack with growthkit's manifest, rules and demo data.

On top of what localcloud starts, the functions get growthkit's environment (local
settings, the Auth stand-in for user management and ID-token certificates, revoked tokens
refused, a secrets key generated into the data directory on first start, and the real
senders: e-mail over SMTP to localcloud's mailbox, SMS to its Twilio stand-in, whose
status callbacks come back to ``sms_inbound``); a demo company whose form key the example
page uses, and its admin, are created once, by the same service as ``growthkit company
create`` (the company, its form key, the admin's account, claims and staff profile, and
new leads e-mailed to the admin); the example business website is served at ``/``.
Every message sent shows on the mailbox page the table lists.
"""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from localcloud.serve import Ports, Row, Stack, ports_or_exit, run
from shared.devstack.manifest import ROOT, growthkit_manifest
from shared.devstack.publishing import connect_demo, platform_env, set_up_accounts

if TYPE_CHECKING:
    from shared.domain.company_setup import CompanySetup
    from shared.ports import DocumentStore

log = logging.getLogger("growthkit.devstack")

DEMO_COMPANY = "demo"
DEMO_NAME = "Acme Plumbing (demo)"
DEMO_FORM_KEY = "demo.local-form-key"
# The admin's uid (README's token URL names it) and e-mail.
DEMO_ADMIN = "demo-admin"
DEMO_ADMIN_EMAIL = "admin@demo.example"
# The Twilio stand-in's account for the functions (local values, not secrets).
DEMO_SMS_ACCOUNT = "AC" + "de" * 16
DEMO_SMS_TOKEN = "local-twilio-auth-token"
DEMO_SMS_FROM = "+15005550006"
# Enforced for clients signed in as staff or visitors; the functions' owner credential
# bypasses it, as with the official emulator.
RULES = ROOT / "firestore.rules"
SITE = Path(__file__).resolve().parent / "site"


class DevStack(Stack):
    """The whole bundle on one machine (``stop()`` keeps the data)."""

    auth_hint = "GROWTHKIT_AUTH_EMULATOR_HOST"

    def __init__(self, ports: Ports, data_dir: Path, project: str, duplicate: bool = False):
        from shared.settings import get_settings

        manifest = growthkit_manifest(get_settings().region)
        site = data_dir / "site"
        super().__init__(manifest, ports, data_dir, project, RULES, site, duplicate)
        self.demo_token_url = ""

    def start(self) -> DevStack:
        from shared.devstack.api_reference import render_api_reference

        render_site(self.data_dir / "site", DEMO_FORM_KEY, self.ports)
        render_api_reference(self.data_dir / "site" / "api")
        super().start()
        # This process's own clients (the seeding below) reach the stack as the functions do,
        # with their settings (the settings read before, for the region, are forgotten: the
        # secrets key in particular is the data directory's).
        from shared import bootstrap

        os.environ.update(self.functions_env())
        bootstrap.reset()
        try:
            self.demo_token_url = seed_demo(self.auth, self.project, self.ports)
            connect_demo(self.platforms, DEMO_COMPANY, DEMO_ADMIN)
        except BaseException:
            self.stop()
            raise
        return self

    def _start_messaging(self) -> None:
        """The Twilio stand-in knows the functions' account, and reports each message's
        delivery a moment later, as Twilio does."""
        super()._start_messaging()
        self.platforms.grant("twilio", DEMO_SMS_TOKEN, subject=DEMO_SMS_ACCOUNT)
        twilio = self.platforms.platform("twilio")
        twilio.auto_callbacks, twilio.callback_delay = True, 1.0
        set_up_accounts(self.platforms)  # the demo company's publishing accounts

    def functions_env(self) -> dict[str, str]:
        """localcloud's variables, and growthkit's settings pointed at the stack: user
        management at the Auth stand-in, ID tokens checked against its certificates and,
        as in production, refused once revoked (a member removed, demoted or disabled);
        mail and SMS through the real senders to the mailbox and the Twilio stand-in."""
        from shared.adapters.crypto import local_key_env

        return {
            **super().functions_env(),
            "GROWTHKIT_FUNCTIONS_BASE_URL": self.ports.base_url,
            "GROWTHKIT_ENVIRONMENT": "local",
            "GROWTHKIT_AUTH_EMULATOR_HOST": self.auth.address,
            "GROWTHKIT_ID_TOKEN_CERT_URL": self.auth.cert_url,
            "GROWTHKIT_CHECK_REVOKED_TOKENS": "true",
            # Secrets at rest are sealed under a key generated into the data dir at first.
            **local_key_env(self.data_dir),
            **self.messaging_env(),
            **platform_env(self.platforms),
        }

    def messaging_env(self) -> dict[str, str]:
        """The SMTP messenger to the mailbox (plain text: a local server), the SMS one to
        the Twilio stand-in."""
        messages = f"/2010-04-01/Accounts/{DEMO_SMS_ACCOUNT}/Messages.json"
        return {
            "GROWTHKIT_MAIL_BACKEND": "smtp",
            "GROWTHKIT_SMTP_HOST": self.mailbox.host,
            "GROWTHKIT_SMTP_PORT": str(self.mailbox.smtp_port),
            "GROWTHKIT_SMTP_TLS": "none",
            "GROWTHKIT_SMS_BACKEND": "http",
            "GROWTHKIT_SMS_API_URL": self.platforms.base_url("twilio") + messages,
            "GROWTHKIT_SMS_ACCOUNT": DEMO_SMS_ACCOUNT,
            "GROWTHKIT_SMS_AUTH_TOKEN": DEMO_SMS_TOKEN,
            "GROWTHKIT_SMS_FROM": DEMO_SMS_FROM,
        }

    def table(self) -> str:
        """localcloud's table, then the line that points ``growthkit`` (or any Google
        client) in another shell at this stack."""
        env = self.functions_env()
        names = (
            "FIRESTORE_EMULATOR_HOST",
            "CLOUD_TASKS_EMULATOR_HOST",
            "CLOUD_SCHEDULER_EMULATOR_HOST",
            "GROWTHKIT_AUTH_EMULATOR_HOST",
        )
        exports = " ".join(f"{n}={env[n]}" for n in names if n in env)
        shell = f"export {exports} GOOGLE_CLOUD_PROJECT={self.project}"
        note = "For `growthkit` and the Google clients in another shell:"
        return f"{super().table()}\n\n{note}\n{shell}"

    def site_rows(self) -> list[Row]:
        base = self.ports.base_url
        posted = (f"{self.platforms.url}/_admin", "what content was posted, by platform")
        return [
            ("Example page", f"{base}/", ""),
            ("API reference", f"{base}/api/", ""),
            ("Posted content", *posted),
        ]

    def service_rows(self) -> list[Row]:
        return [*super().service_rows(), ("Demo admin ID token", self.demo_token_url, "POST it")]


def render_site(out: Path, form_key: str, ports: Ports) -> Path:
    """The example business website, its form posting to ``lead_intake`` from another
    origin (``localhost`` rather than the page's ``127.0.0.1``), as a real site would."""
    intake = f"http://localhost:{ports.functions}/lead_intake"
    out.mkdir(parents=True, exist_ok=True)
    for page in SITE.glob("*.html"):
        text = page.read_text(encoding="utf-8")
        text = text.replace("{{FORM_KEY}}", form_key).replace("{{INTAKE_URL}}", intake)
        (out / page.name).write_text(text, encoding="utf-8")
    return out


def demo_setup(ports: Ports) -> CompanySetup:
    """The demo company as an operator would give it to ``growthkit company create``: the
    example page's two origins (it posts from one host name to the other)."""
    from shared.domain.company_setup import company_setup

    origins = [f"http://{h}:{ports.functions}" for h in ("127.0.0.1", "localhost")]
    return company_setup(
        id=DEMO_COMPANY, name=DEMO_NAME, admin_email=DEMO_ADMIN_EMAIL, origins=origins
    )


def seed_demo(auth: Any, project: str, ports: Ports) -> str:
    """The demo company, its form key and its admin, made once by ``create_company`` (the
    service of ``growthkit company create``): the company, the admin's account and claims,
    and the admin's staff profile (which booking a consultation, for one, needs); then the
    example page's thank-you URL. Returns the URL that gives the admin an ID token
    (``curl -X POST <url>``)."""
    from shared.adapters.clients import firestore_client
    from shared.adapters.firestore_store import FirestoreStore
    from shared.adapters.user_admin import user_admin_for
    from shared.domain.common import utcnow
    from shared.domain.company import company_path
    from shared.ports import Write
    from shared.services.companies import create_company

    store = FirestoreStore(firestore_client())
    if store.get_all([company_path(DEMO_COMPANY)])[0].exists:
        _check_demo_admin(store)  # made by an earlier run: kept as it is
        return str(auth.token_url(project, DEMO_ADMIN))
    # The account first, with the uid README's token URL names: create_company takes an
    # existing account of the admin's e-mail as it is, and gives it the claims.
    _demo_account(auth, project)
    admin = user_admin_for(project, auth.address)
    created = create_company(store, admin, utcnow(), demo_setup(ports), form_key=DEMO_FORM_KEY)
    thanks = {"settings": {"thank_you_url": f"{ports.base_url}/thanks"}}
    store.commit([Write(company_path(DEMO_COMPANY), thanks, "merge")])
    log.info("demo company %s and its admin %s created", created.company_id, created.admin_uid)
    return str(auth.token_url(project, created.admin_uid))


def _demo_account(auth: Any, project: str) -> None:
    """The demo admin's Auth account (no claims yet), unless an earlier run made it."""
    from localcloud.auth import AuthError

    try:
        auth.accounts.create(project, {"localId": DEMO_ADMIN, "email": DEMO_ADMIN_EMAIL})
    except AuthError:
        pass  # kept from an earlier run


def _check_demo_admin(store: DocumentStore) -> None:
    """Data from a ``make serve`` older than this seeding has the demo admin without a
    staff profile: say so, and how to start afresh, rather than let bookings fail."""
    from shared.domain.users import user_path

    if not store.get_all([user_path(DEMO_COMPANY, DEMO_ADMIN)])[0].exists:
        log.warning(
            "the demo admin has no staff profile (data made by an older make serve): "
            "stop it, delete the data directory (.localcloud) and start again"
        )


def _serve(args: argparse.Namespace) -> None:
    run(DevStack(ports_or_exit(), args.data_dir, args.project, args.duplicate_events))


def main(argv: list[str] | None = None) -> None:
    """``python -m shared.devstack serve [--data-dir DIR] [--project ID]``."""
    from localcloud.cli import configure_logging, install_signal_handlers

    install_signal_handlers()  # first: a Ctrl-C while starting still stops cleanly
    parser = argparse.ArgumentParser(prog="python -m shared.devstack")
    parser.add_argument("--log-level", default="INFO", help="DEBUG logs one line per RPC")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the whole bundle locally (make serve)")
    env = os.environ.get
    serve.add_argument(
        "--data-dir", type=Path, default=Path(env("LOCALCLOUD_DATA_DIR", ".localcloud"))
    )
    serve.add_argument("--project", default=env("LOCALCLOUD_PROJECT", "demo-growthkit"))
    serve.add_argument(
        "--duplicate-events",
        action="store_true",
        help="deliver every Firestore event twice (proves idempotency)",
    )
    serve.set_defaults(run=_serve)
    args = parser.parse_args(argv)
    configure_logging(args.log_level)
    args.run(args)
