"""Activity markers through the functions, the local Firestore and the real client: the
paths that create activity mark the company's day in the commit they make anyway."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from shared.domain.activity import marker_path
from tests.integration.event_support import RoundTrips
from tests.support import SITE, seed_company

KEY = "acme.public-key-123"


def test_a_lead_marks_its_company_day_in_its_own_commit(
    db: Any, function_client: Any, firestore_server: Any, project_id: str
) -> None:
    """The day's first lead: still one read and one commit, and the marker says a lead
    was created from the web form. A second lead (another source) adds its source; a
    third of a known source leaves the marker as it was. Globex, idle, has none."""
    seed_company(db)
    seed_company(db, "globex")
    client = function_client("lead_intake")
    trips = RoundTrips(firestore_server, project_id)
    first = client.post("/", json={"form_key": KEY, "email": "jane@example.com"})
    assert 201 == first.status_code, first.get_json()
    assert {"BatchGetDocuments": 1, "Commit": 1} == trips.delta()
    today = datetime.now(UTC).date().isoformat()
    ref = db.document(marker_path(today, "acme"))
    marked = ref.get()
    assert (["leads.created_at"], ["web_form"], "acme", today) == (
        marked.get("fields"),
        marked.get("sources"),
        marked.get("company_id"),
        marked.get("date"),
    )
    body = {"form_key": KEY, "email": "joe@example.com", "source": "flyer"}
    assert 201 == client.post("/", json=body).status_code
    assert ["flyer", "web_form"] == sorted(ref.get().get("sources"))
    updated = ref.get().update_time
    assert 201 == client.post("/", json={"form_key": KEY, "email": "ann@example.com"}).status_code
    assert updated == ref.get().update_time
    assert not db.document(marker_path(today, "globex")).get().exists


def test_website_events_mark_the_day_they_are_counted_for(db: Any, function_client: Any) -> None:
    """A batch of events counts into the day's shards, and marks that day."""
    seed_company(db)
    events = [{"type": "page_view", "name": "/", "session_id": "session-0001"}]
    body = json.dumps({"form_key": KEY, "events": events})
    headers = {"Origin": SITE, "Content-Type": "text/plain;charset=UTF-8"}
    res = function_client("track_events").post("/", data=body, headers=headers)
    assert res.status_code in (200, 201, 202), res.get_json()
    today = datetime.now(UTC).date().isoformat()
    assert ["events"] == db.document(marker_path(today, "acme")).get().get("fields")
