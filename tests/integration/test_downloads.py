"""Resource downloads through the public function: the lead and the download recorded,
then a 302 to the registered file only; through the local Firestore and real clients."""

from __future__ import annotations

from typing import Any

import pytest

from shared.domain.leads import lead_id_for
from tests.support import SITE, docs, seed_company

FILE = "https://files.acme.example/guide.pdf"


@pytest.fixture
def resource(db: Any, function_client: Any, staff_auth: Any) -> str:
    """Acme's guide, registered by a manager through staff_api; globex has one too."""
    seed_company(db)
    seed_company(db, "globex")
    db.document("companies/globex/resources/theirs").set(
        {"title": "Theirs", "file_url": "https://globex.example/x.pdf", "active": True}
    )
    res = function_client("staff_api").post(
        "/companies/acme/resources",
        json={"title": "Pricing guide", "file_url": FILE, "type": "guide"},
        headers=staff_auth("acme", "manager"),
    )
    assert 201 == res.status_code, res.get_data()
    return str(res.get_json()["id"])


def download(function_client: Any, resource_id: str, **more: Any) -> Any:
    form = {"key": "acme.public-key-123", "resource_id": resource_id, "email": "ann@example.com"}
    headers = {"Origin": SITE, **more.pop("headers", {})}
    return function_client("download_resource").post("/", data=form | more, headers=headers)


def test_download_records_the_lead_and_redirects_to_the_file(
    db: Any, function_client: Any, resource: str
) -> None:
    """302 to the file; the lead (id from the e-mail, consent evidence) and the download
    are stored, the resource counts it."""
    res = download(function_client, resource, name="Ann", consent="on")
    assert (302, FILE) == (res.status_code, res.headers["Location"])
    lead = docs(db, "companies/acme/leads")[lead_id_for("ann@example.com")]
    assert ("resource_download", True) == (lead["source"], lead["consent"]["given"])
    (record,) = docs(db, "companies/acme/resource_downloads").values()
    assert (resource, lead["id"]) == (record["resource_id"], record["lead_id"])
    assert 1 == db.document(f"companies/acme/resources/{resource}").get().get("download_count")


def test_a_retried_download_is_recorded_once(db: Any, function_client: Any, resource: str) -> None:
    """The same Idempotency-Key twice: both redirected, one record, one count."""
    key = {"Idempotency-Key": "form-render-123456"}
    statuses = [download(function_client, resource, headers=key).status_code for _ in range(2)]
    assert [302, 302] == statuses
    assert 1 == len(docs(db, "companies/acme/resource_downloads"))
    assert 1 == db.document(f"companies/acme/resources/{resource}").get().get("download_count")


def test_only_the_companys_registered_active_resources(
    db: Any, function_client: Any, resource: str
) -> None:
    """Unknown ids, another company's resource and inactive ones are 404 (no redirect to
    any URL the request could choose); a foreign origin is 403; JSON clients get the URL."""
    db.document(f"companies/acme/resources/{resource}").update({"active": False})
    db.document("companies/acme/resources/live").set({"title": "Live", "file_url": FILE})
    answers = [
        download(function_client, "nope").status_code,
        download(function_client, "theirs").status_code,
        download(function_client, resource).status_code,
        download(function_client, "live", headers={"Origin": "https://evil.example"}).status_code,
    ]
    assert [404, 404, 404, 403] == answers
    res = download(function_client, "live", headers={"Accept": "application/json"})
    assert (200, {"url": FILE}) == (res.status_code, res.get_json())
    assert [] == list(docs(db, "companies/globex/resource_downloads"))
