"""``make serve``: localcloud's stack with growthkit's manifest, rules and demo data.

On top of what localcloud starts, the functions get growthkit's environment (local
settings, the Auth stand-in for user management and ID-token certificates, revoked tokens
refused, a secrets key generated into the data directory on first start, and the real
senders: e-mail over SMTP to localcloud's mailbox, SMS to its Twilio stand-in, whose
status callbacks come back to ``sms_inbound``); a demo company whose form key the example
page uses, and an admin of it, are created once; the example business website is served
at ``/``. Every message sent shows on the mailbox page the table lists.

The demo company tells its admin about each new lead with what any company could set up
(``seed_new_lead_alert``): a ``lead_created`` workflow assigns the lead to the admin and
adds 100 points, which crosses the company's ``score_notify_at`` (100), and the score
notification e-mails the assignee ("Lead ready: ...").
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

from localcloud.serve import Ports, Row, Stack, ports_or_exit, run
from shared.devstack.manifest import ROOT, growthkit_manifest

DEMO_COMPANY = "demo"
DEMO_FORM_KEY = "demo.local-form-key"
DEMO_ADMIN = "demo-admin"
DEMO_ADMIN_EMAIL = "admin@demo.example"
# The Twilio stand-in's account for the functions (local values, not secrets).
DEMO_SMS_ACCOUNT = "AC" + "de" * 16
DEMO_SMS_TOKEN = "local-twilio-auth-token"
DEMO_SMS_FROM = "+15005550006"
NEW_LEAD_ALERT = "new-lead-alert"
ALERT_POINTS = 100
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
        # This process's own clients (the seeding below) reach the stack as the functions do.
        os.environ.update(self.functions_env())
        try:
            seed_demo_company(self.ports)
            self.demo_token_url = seed_demo_admin(self.auth, self.project, DEMO_COMPANY)
            seed_new_lead_alert(DEMO_COMPANY)
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

    def site_rows(self) -> list[Row]:
        base = self.ports.base_url
        return [("Example page", f"{base}/", ""), ("API reference", f"{base}/api/", "")]

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


def seed_demo_company(ports: Ports) -> None:
    """A demo company whose form key the example page uses (created once)."""
    from shared.adapters.clients import firestore_client

    ref = firestore_client().collection("companies").document(DEMO_COMPANY)
    if ref.get().exists:
        return
    origins = [f"http://{h}:{ports.functions}" for h in ("127.0.0.1", "localhost")]
    ref.set(
        {
            "name": "Acme Plumbing (demo)",
            "public_form_key": DEMO_FORM_KEY,
            "allowed_origins": origins,
            "settings": {"thank_you_url": f"{ports.base_url}/thanks"},
        }
    )


def seed_demo_admin(auth: Any, project: str, company_id: str) -> str:
    """An admin account of the demo company (made once); returns the URL that gives an ID
    token for it (``curl -X POST <url>``)."""
    from localcloud.auth import AuthError

    claims = json.dumps({"company_id": company_id, "role": "admin"})
    account = {"localId": DEMO_ADMIN, "email": DEMO_ADMIN_EMAIL, "customAttributes": claims}
    try:
        auth.accounts.create(project, account)
    except AuthError:
        pass  # kept from an earlier run
    return str(auth.token_url(project, DEMO_ADMIN))


def seed_new_lead_alert(company_id: str) -> None:
    """The admin's profile (its e-mail), ``score_notify_at`` and the workflow that tells
    the admin about each new lead (see the module); each made once, kept if changed."""
    from shared import bootstrap
    from shared.adapters.clients import firestore_client
    from shared.domain.common import utcnow
    from shared.domain.identity import Role, StaffIdentity
    from shared.domain.users import CompanyUser, UserStatus
    from shared.errors import AlreadyExists
    from shared.workflows.services.manage import create_workflow

    now, client = utcnow(), firestore_client()
    profile = client.document(f"companies/{company_id}/users/{DEMO_ADMIN}")
    if not profile.get().exists:
        user = CompanyUser(id=DEMO_ADMIN, company_id=company_id, email=DEMO_ADMIN_EMAIL,
                           role=Role.ADMIN, status=UserStatus.ACTIVE, created_at=now,
                           updated_at=now)  # fmt: skip
        profile.set(user.model_dump())
    company = client.document(f"companies/{company_id}")
    if (company.get().get("settings") or {}).get("score_notify_at") is None:
        company.set({"settings": {"score_notify_at": ALERT_POINTS}}, merge=True)
    admin = StaffIdentity(DEMO_ADMIN, company_id, Role.ADMIN)
    try:
        create_workflow(bootstrap.document_store(), now, admin, NEW_LEAD_WORKFLOW, NEW_LEAD_ALERT)
    except AlreadyExists:
        pass  # made on an earlier start (and perhaps changed since: kept)


NEW_LEAD_WORKFLOW = {
    "name": "Tell the admin about each new lead",
    "trigger": {"type": "lead_created"},
    "steps": [
        {"id": "assign", "type": "assign", "user_id": DEMO_ADMIN},
        {
            "id": "alert",
            "type": "adjust_score",
            "points": ALERT_POINTS,
            "name": "new lead: reach score_notify_at, which e-mails the assignee",
        },
    ],
}


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
