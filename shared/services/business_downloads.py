"""Resource downloads: a visitor leaves their e-mail, becomes a lead, gets the file.

The lead is made exactly as a web form makes one (``intake_lead``: the lead id derived
from the e-mail, consent evidence, spam checks, rate limits, the company's origins), with
the resource as the form. The download is then recorded once per submission (or per lead,
resource and day without a submission id) together with the resource's counter, in one
commit that creates the record, so a retried request neither records nor counts twice.
The file URL comes from the registered resource, never from the request.
"""

from __future__ import annotations

import logging
from datetime import datetime

from msgspec import Struct

from shared.domain.business_resources import (
    DownloadableResource,
    DownloadRequest,
    ResourceDownload,
    download_id,
    download_path,
    resource_path,
)
from shared.domain.company import Company, company_id_from_form_key
from shared.domain.leads import LeadSubmission
from shared.errors import AlreadyExists, NotFound
from shared.ports import Clock, DocumentStore, Increment, Write
from shared.services.intake import intake_lead

log = logging.getLogger("growthkit.downloads")


class DownloadResult(Struct, frozen=True):
    company: Company
    file_url: str
    lead_id: str | None
    recorded: bool


def download_resource(
    store: DocumentStore, clock: Clock, req: DownloadRequest, ip: str, origin: str | None
) -> DownloadResult:
    """Record a download and its lead; return where the file is.

    Args:
        store: The document store.
        clock: The time of the submission.
        req: The visitor's form: key, resource, e-mail, consent...
        ip: The visitor's address.
        origin: The page's origin (only the company's sites may post).

    Returns:
        The company, the file's URL, the lead, and whether this request recorded the
        download (False for a retry, or a submission kept apart as spam).

    Raises:
        NotFound: Unknown form key, or no such active resource.
        PermissionDenied: Origin not allowed. RateLimited: Too many submissions.
    """
    company_id = company_id_from_form_key(req.form_key)
    if company_id is None:
        raise NotFound("Unknown form key.")
    snap = store.get_all([resource_path(company_id, req.resource_id)])[0]
    if snap.data is None or not snap.data.get("active", True):
        raise NotFound("No such resource.")
    resource = DownloadableResource.model_validate(
        {**snap.data, "id": req.resource_id, "company_id": company_id}
    )
    intake = intake_lead(store, clock, _submission(req), ip, origin)
    if intake.lead_id is None:  # spam: the file, but no record and no lead
        log.warning("download of %s by a submission kept apart as spam", resource.id)
        return DownloadResult(intake.company, resource.file_url, None, False)
    now = clock.now()
    recorded = _record(store, now, intake.company.id, resource, req, intake.lead_id, ip)
    return DownloadResult(intake.company, resource.file_url, intake.lead_id, recorded)


def _submission(req: DownloadRequest) -> LeadSubmission:
    return LeadSubmission(
        form_key=req.form_key,
        email=req.email,
        name=req.name,
        source="resource_download",
        form_id=f"resource:{req.resource_id}"[:100],
        page_url=req.page_url,
        referrer=req.referrer,
        consent=req.consent,
        consent_text=req.consent_text,
        website=req.website,
        started_at=req.started_at,
        submission_id=req.submission_id,
        utm=req.utm,
    )


def _record(
    store: DocumentStore,
    now: datetime,
    company_id: str,
    resource: DownloadableResource,
    req: DownloadRequest,
    lead_id: str,
    ip: str,
) -> bool:
    key = req.submission_id or f"{lead_id}:{now.date().isoformat()}"
    record_id = download_id(company_id, resource.id, key)
    record = ResourceDownload(
        id=record_id,
        company_id=company_id,
        resource_id=resource.id,
        lead_id=lead_id,
        email=req.email,
        ip=ip,
        page_url=req.page_url,
        created_at=now,
        updated_at=now,
    )
    counter = {"download_count": Increment(1), "last_downloaded_at": now}
    try:
        store.commit(
            [
                Write(download_path(company_id, record_id), record.model_dump(), "create"),
                Write(resource_path(company_id, resource.id), counter, "update"),
            ]
        )
    except AlreadyExists:
        log.info("download %s of %s was already recorded", record_id, resource.id)
        return False
    log.info("resource %s of %s downloaded by lead %s", resource.id, company_id, lead_id)
    return True
