"""Entry points of every function in the bundle (functions-framework targets).

Each function lives in the module of its area; importing them here registers them. Google
clients are imported lazily inside the services, so loading this module stays cheap.
"""

from functions.analytics import rollup_analytics
from functions.content import publish_content
from functions.forms import lead_intake
from functions.referrals import expire_referrals, redeem_referral, referral_codes
from functions.reviews import request_review
from functions.tasks import dispatch_due_tasks, run_task
from functions.triggers import (
    on_content_written,
    on_interaction_created,
    on_lead_written,
    on_review_written,
)

__all__ = [
    "on_content_written",
    "on_interaction_created",
    "on_lead_written",
    "on_review_written",
    "publish_content",
    "rollup_analytics",
    "dispatch_due_tasks",
    "request_review",
    "run_task",
    "lead_intake",
    "expire_referrals",
    "redeem_referral",
    "referral_codes",
]
