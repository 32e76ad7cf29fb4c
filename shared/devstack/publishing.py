"""Publishing under `make serve`: the demo company's accounts on localcloud's platform
stand-ins, so content goes through the real publishers (WordPress, LinkedIn, X, a
Facebook Page, Instagram, a webhook) and shows on the stand-ins' page, one preview per
platform, next to the mailbox. Nothing leaves the machine.

The stand-ins learn the accounts (a WordPress site with an application password, granted
tokens, a Page with its Instagram account, a hook's secret) at every start; the company's
connections are made once through the integrations resource, sealed as staff's are.
"""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger("growthkit.devstack")

GRAPH = "/v23.0"
SITE, WP_USER, WP_PASSWORD = "blog", "editor", "demo ABCD efgh IJKL mnop"
ORG = "urn:li:organization:42"
X_USER, PAGE_ID, IG_USER = "2244994945", "100000000000001", "17841400000000001"
HOOK, HOOK_SECRET = "zap", "local-demo-hook-secret"


def platform_env(platforms: Any) -> dict[str, str]:
    """The functions' settings pointing publishing at the stand-ins (loopback allowed for
    the WordPress site and the hook, which live on this machine)."""
    return {
        "GROWTHKIT_LINKEDIN_API_URL": platforms.base_url("linkedin"),
        "GROWTHKIT_X_API_URL": platforms.base_url("x"),
        "GROWTHKIT_FACEBOOK_GRAPH_URL": platforms.base_url("facebook") + GRAPH,
        "GROWTHKIT_WEBHOOKS_ALLOW_LOOPBACK": "true",
    }


def set_up_accounts(platforms: Any) -> None:
    """What each stand-in knows of the demo company's accounts (in memory: every start)."""
    platforms.platform("wordpress").add_site(SITE, WP_USER, WP_PASSWORD)
    platforms.grant(
        "linkedin",
        "demo-linkedin-token",
        subject="urn:li:person:demo",
        scopes=("w_organization_social", "r_organization_social"),
        organizations=[ORG],
    )
    platforms.grant("x", "demo-x-token", subject=X_USER, scopes=("tweet.read", "tweet.write"))
    platforms.platform("facebook").add_page(
        PAGE_ID, "Acme Plumbing", owner="demo", page_token="demo-page-token", instagram_id=IG_USER
    )
    platforms.platform("hooks").configure(HOOK, secret=HOOK_SECRET)


def connections(platforms: Any) -> list[dict[str, Any]]:
    """The demo company's connections, as its admin would send them to ``integrations``."""
    page = {"platform_user_id": PAGE_ID, "access_token": "demo-page-token"}
    return [
        {"platform": "wordpress", "site_url": platforms.base_url("wordpress", SITE),
         "username": WP_USER, "app_password": WP_PASSWORD},
        {"platform": "linkedin", "platform_user_id": "demo",
         "access_token": "demo-linkedin-token", "author_urn": ORG},
        {"platform": "twitter", "platform_user_id": X_USER, "access_token": "demo-x-token"},
        {"platform": "facebook", **page},
        {"platform": "instagram", "platform_user_id": IG_USER, "access_token": "demo-page-token"},
        {"platform": "webhook", "webhook_url": f"{platforms.base_url('hooks')}/{HOOK}",
         "webhook_secret": HOOK_SECRET},
    ]  # fmt: skip


def connect_demo(platforms: Any, company_id: str, admin_uid: str) -> None:
    """The demo company's connections, made once (an existing one is kept as it is)."""
    from shared import bootstrap
    from shared.adapters.crypto import cipher
    from shared.domain.identity import Role, StaffIdentity
    from shared.errors import AlreadyExists
    from shared.services.integrations import resource_specs
    from shared.staff_api.domain.lists import Scope
    from shared.staff_api.services.writes import create_item

    spec = resource_specs(cipher(), allow_loopback=True)["social_connections"]
    admin = StaffIdentity(admin_uid, company_id, Role.ADMIN)
    store, now = bootstrap.document_store(), bootstrap.clock.now()
    for body in connections(platforms):
        try:
            create_item(store, now, admin, spec, Scope(company_id), body, None)
        except AlreadyExists:
            pass  # connected on an earlier start
    log.info("demo company's platforms connected to the stand-ins")
