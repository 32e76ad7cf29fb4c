"""Entry points of every function in the bundle (functions-framework targets).

Each function lives in the module of its area and is imported on first access (PEP 562
module ``__getattr__``): functions-framework looks up one target per instance, so a
deployed function loads only its own area's modules, not the whole bundle's. Google
clients are imported lazily inside the services, so loading an area stays cheap too.
"""

from __future__ import annotations

from shared.compile_cache import install as _install_compile_cache

# First, so everything loaded from here on is served from it: the deploy package carries
# what a cold start compiles, compiled at build time (shared/compile_cache.py). Absent in a
# checkout, where everything compiles as usual.
_install_compile_cache()

import importlib  # noqa: E402
import logging  # noqa: E402
import os  # noqa: E402
from typing import Any  # noqa: E402

import flask  # noqa: E402

from functions._http import install  # noqa: E402
from shared.startup import (  # noqa: E402
    collector_paused,
    freeze_loaded,
    hold_collector,
    release_collector,
)

# The bundle uses no pydantic plugins, and looking for them reads the metadata of every
# installed distribution at the first model build: 11 M instructions (0.8% of a bare
# function's cold start), measured with bench's --instructions. The variable is pydantic's
# documented switch, read at each model build; an operator can still set it otherwise.
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")

# functions-framework executes this file inside the app context of each app it creates, so
# this sets up every function's app: the body size limit and the last-resort error handler
# (its global ``errorhandler`` would race when tests create apps from several threads).
if flask.has_app_context():
    install(flask.current_app)

_AREAS = {
    "rollup_analytics": "functions.analytics",
    "publish_content": "functions.content",
    "lead_intake": "functions.forms",
    "expire_referrals": "functions.referrals",
    "redeem_referral": "functions.referrals",
    "referral_codes": "functions.referrals",
    "request_review": "functions.reviews",
    "dispatch_due_tasks": "functions.tasks",
    "run_task": "functions.tasks",
    "on_content_written": "functions.triggers",
    "on_interaction_created": "functions.triggers",
    "on_lead_written": "functions.scoring",
    "on_review_written": "functions.triggers",
    "on_scoring_rule_written": "functions.scoring",
    "staff_api": "functions.staff",
    "company_users": "functions.staff",
    "workflows": "functions.workflows",
    "on_lead_workflows": "functions.workflow_triggers",
    "on_interaction_workflows": "functions.workflow_triggers",
    "on_interaction_scored": "functions.engagement",
    "enrol_scheduled_workflows": "functions.workflow_triggers",
    "decay_engagement_scores": "functions.engagement",
    "newsletter_signup": "functions.newsletters",
    "newsletter_confirm": "functions.newsletters",
    "newsletter_unsubscribe": "functions.newsletters",
    "consultations": "functions.business",
    "download_resource": "functions.downloads",
    "integrations": "functions.integrations",
    "refresh_social_tokens": "functions.integrations",
    "track_events": "functions.events",
    "analytics_summary": "functions.events",
    "campaigns": "functions.campaigns",
    "outreach_import": "functions.outreach",
    "unsubscribe": "functions.compliance",
    "sms_inbound": "functions.compliance",
    "email_events": "functions.compliance",
    "track_open": "functions.tracking",
    "track_click": "functions.tracking",
    "on_lead_campaigns": "functions.conversions",
}

# Every target, for tools that list them (a module ``__getattr__`` is invisible to them).
ENTRY_POINTS = tuple(sorted(_AREAS))


def __getattr__(name: str) -> Any:
    """Import the area that defines ``name`` and return the entry point (the collector
    paused while it loads, its objects frozen afterwards: shared/startup.py). Loaded by
    functions-framework (inside the app's context), the pause lasts until the app's first
    answer, so the Google clients' first imports run without it too."""
    area = _AREAS.get(name)
    if area is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    _require_secrets(name)
    if flask.has_app_context() and hold_collector():
        flask.current_app.teardown_request(release_collector)
    with collector_paused():
        entry = getattr(importlib.import_module(area), name)
    freeze_loaded()
    globals()[name] = entry  # functions-framework looks it up twice: once is enough
    return entry


def _require_secrets(name: str) -> None:
    """Refuse to load a production function without every secret its manifest entry
    names: the instance never starts (the deploy fails, the revision before it keeps
    serving) rather than answer requests it cannot verify or sign."""
    from shared.manifest import by_name
    from shared.settings import MissingSecret, missing_secrets

    missing = missing_secrets(by_name(name).required_secrets)
    if missing:
        names = ", ".join(missing)
        logging.getLogger("growthkit.startup").critical(
            "%s refuses to start: %s not set (production needs it from Secret Manager)",
            name,
            names,
        )
        raise MissingSecret(f"{name} needs {names} in production")


def __dir__() -> list[str]:
    return sorted({*globals(), *_AREAS})
