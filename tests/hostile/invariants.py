"""What must hold in Firestore after any amount of hostile traffic: no stray or partial
documents.

Every document is read back (a recursive walk of the project through the real client) and
checked: it sits at a path the code writes, it validates as its model, and the documents
one operation writes together agree (a lead counts exactly its form interactions, a code
lists exactly the leads its redemption markers name). A commit that wrote half of what
it should, or a write under an id taken from the request, shows up here.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from shared.campaigns.domain.campaigns import Campaign
from shared.campaigns.domain.outreach import Business, Contact
from shared.domain.content import Content
from shared.domain.leads import Interaction, Lead
from shared.domain.referrals import Referral
from shared.domain.reviews import Review
from shared.domain.tasks import ScheduledTask
from shared.scoring.domain.rules import LeadScoringRule
from shared.staff_api.domain.models import LeadNote
from shared.workflows.domain.definition import Workflow

# Collections are named in code, always in lower snake case (new features add their own);
# a name taken from a request would not be, so only that shape is required below companies.
SHARED = Path(__file__).resolve().parents[2] / "shared"
# The top-level collections the code writes: each path it builds as f"<collection>/{...}"
# (but "projects/...", the Google APIs' resource names, which are not documents).
TOP_LEVEL = {
    name
    for source in SHARED.rglob("*.py")
    for name in re.findall(r'f"([a-z_]+)/\{', source.read_text())
} - {"projects"}
INDEXES = Path(__file__).resolve().parents[2] / "firestore.indexes.json"
CODE_NAME = re.compile(r"[a-z][a-z0-9_]{0,40}")
MODELS: dict[str, type[BaseModel]] = {
    r"companies/[^/]+/leads/[^/]+": Lead,
    r"companies/[^/]+/leads/[^/]+/interactions/[^/]+": Interaction,
    r"companies/[^/]+/referrals/[^/]+": Referral,
    r"companies/[^/]+/reviews/[^/]+": Review,
    r"companies/[^/]+/scheduled_tasks/[^/]+": ScheduledTask,
    r"companies/[^/]+/content/[^/]+": Content,
    r"companies/[^/]+/campaigns/[^/]+": Campaign,
    r"companies/[^/]+/workflows/[^/]+": Workflow,
    r"companies/[^/]+/businesses/[^/]+": Business,
    r"companies/[^/]+/outreach_contacts/[^/]+": Contact,
    r"companies/[^/]+/leads/[^/]+/notes/[^/]+": LeadNote,
    r"companies/[^/]+/scoring_rules/[^/]+": LeadScoringRule,
}


def all_documents(db: Any) -> dict[str, dict[str, Any]]:
    """Every existing document of the client's project, by path."""
    found: dict[str, dict[str, Any]] = {}
    pending = list(db.collections())
    while pending:
        collection = pending.pop()
        found.update({d.reference.path: d.to_dict() for d in collection.stream()})
        for ref in collection.list_documents():
            pending.extend(ref.collections())
    return found


# Collections where ``expires_at`` is data the code acts on (a code's or a token's end),
# not when the document may go: no TTL policy may delete these.
EXPIRY_IS_DATA = {"referrals", "social_connections"}


def ttl_collections() -> set[str]:
    """Collection groups with a TTL policy on ``expires_at`` in firestore.indexes.json."""
    overrides = json.loads(INDEXES.read_text())["fieldOverrides"]
    return {
        o["collectionGroup"] for o in overrides if o.get("ttl") and o["fieldPath"] == "expires_at"
    }


def problems(docs: dict[str, dict[str, Any]], companies: set[str]) -> list[str]:
    """Everything wrong with ``docs``; empty when the database is consistent."""
    found = [*_misplaced(docs, companies), *_invalid(docs), *_expiring(docs)]
    return [*found, *_lead_counts(docs), *_referral_links(docs)]


def _misplaced(docs: dict[str, dict[str, Any]], companies: set[str]) -> list[str]:
    out = []
    for path in docs:
        parts = path.split("/")
        if parts[0] not in TOP_LEVEL:
            out.append(f"{path}: unexpected top-level collection")
        elif parts[0] == "companies" and parts[1] not in companies:
            out.append(f"{path}: under a company that was never created")
        elif any(not CODE_NAME.fullmatch(name) for name in parts[2::2]):
            out.append(f"{path}: a collection name no code would choose")
    return out


def _expiring(docs: dict[str, dict[str, Any]]) -> list[str]:
    """A document written to expire (``expires_at``) lies where a TTL policy deletes it,
    or its expiry is data; a TTL policy never covers data."""
    ttl, out = ttl_collections(), []
    for path, data in docs.items():
        group = path.split("/")[-2]
        if "expires_at" in data and group not in ttl | EXPIRY_IS_DATA:
            out.append(f"{path}: has expires_at but no TTL policy deletes its collection")
    return out + [f"{group}: its expires_at is data, not a TTL" for group in ttl & EXPIRY_IS_DATA]


def _invalid(docs: dict[str, dict[str, Any]]) -> list[str]:
    out = []
    for path, data in docs.items():
        for pattern, model in MODELS.items():
            if re.fullmatch(pattern, path):
                try:
                    model.model_validate({"id": path.rsplit("/", 1)[1], **data})
                except ValidationError as err:
                    out.append(f"{path}: not a valid {model.__name__}: {err}")
        parent = path.rsplit("/", 2)[0]
        if "/interactions/" in path and parent not in docs:
            out.append(f"{path}: interaction of a lead that does not exist")
    return out


def _lead_counts(docs: dict[str, dict[str, Any]]) -> list[str]:
    """Each submission (form post or redemption) is one lead update and one interaction."""
    forms = Counter(
        path.rsplit("/", 2)[0]
        for path, data in docs.items()
        if "/interactions/" in path and data.get("type") == "form"
    )
    return [
        f"{path}: submission_count {data.get('submission_count')} but {forms[path]} form posts"
        for path, data in docs.items()
        if re.fullmatch(r"companies/[^/]+/leads/[^/]+", path)
        and data.get("submission_count", 0) != forms[path]
    ]


def _code_uses(docs: dict[str, dict[str, Any]], code_path: str) -> tuple[int, list[str]]:
    """(times used, leads referred) of a code: its document plus any counter shards."""
    parts = [docs.get(code_path, {})]
    parts += [d for p, d in docs.items() if p.startswith(f"{code_path}/shards/")]
    leads = [lead for part in parts for lead in part.get("referred_leads", [])]
    return sum(int(part.get("times_used", 0)) for part in parts), leads


def _referral_links(docs: dict[str, dict[str, Any]]) -> list[str]:
    out = []
    for path, data in docs.items():
        if re.fullmatch(r"companies/[^/]+/referrals/[^/]+", path):
            used, leads = _code_uses(docs, path)
            if used != len(leads):
                out.append(f"{path}: used {used} times by {len(leads)} leads")
        if re.fullmatch(r"companies/[^/]+/referral_redemptions/[^/]+", path):
            company = path.split("/")[1]
            _, leads = _code_uses(docs, f"companies/{company}/referrals/{data.get('code')}")
            if data.get("lead_id") not in leads:
                out.append(f"{path}: marker of a redemption its code does not list")
            if f"companies/{company}/leads/{data.get('lead_id')}" not in docs:
                out.append(f"{path}: marker of a lead that does not exist")
    return out


def counted(docs: dict[str, dict[str, Any]], collection: str) -> int:
    """How many documents sit directly in collections named ``collection``."""
    return sum(1 for path in docs if path.split("/")[-2] == collection)
