"""Downloadable resources (guides, templates, e-books) and the record of each download.

Staff register a resource with the URL of its file; the public ``download_resource``
function only ever redirects to a registered resource's URL, looked up by id, so it is
not an open redirect. A download is a lead capture: the visitor's e-mail becomes (or
updates) a lead as a form submission does, and the download is recorded apart.
"""

from enum import StrEnum
from typing import Annotated

from pydantic import ConfigDict, Field, field_validator

from shared.domain.common import DocumentId, Email, RequestModel, ShortText, StoredModel, stable_id
from shared.domain.leads import Utm
from shared.staff_api.domain.edits import EditModel, Tag

MAX_TAGS = 20
# The download answers with it as its Location header: no blanks or control characters.
_NOT_IN_URL = r"\s\x00-\x1f\x7f-\x9f"
FileUrl = Annotated[
    str, Field(max_length=2000, pattern=rf"^https?://[^{_NOT_IN_URL}/?#]+[^{_NOT_IN_URL}]*$")
]


class ResourceType(StrEnum):
    GUIDE = "guide"
    EBOOK = "ebook"
    TEMPLATE = "template"
    CHECKLIST = "checklist"
    VIDEO = "video"
    OTHER = "other"


class ResourceFields(EditModel):
    title: str = Field(default="", min_length=1, max_length=300)
    description: str | None = Field(default=None, max_length=5000)
    type: ResourceType = ResourceType.GUIDE
    file_url: FileUrl = "https://x"  # required on create
    active: bool = True
    tags: list[Tag] = Field(default=[], max_length=MAX_TAGS)


class DownloadableResource(StoredModel, ResourceFields):
    model_config = ConfigDict(extra="allow")

    id: str
    company_id: str
    download_count: int = 0


class DownloadRequest(RequestModel):
    """A visitor's request for a resource: who they are, as on a lead form."""

    form_key: str = Field(min_length=3, max_length=200)
    resource_id: DocumentId
    email: Email
    name: ShortText | None = None
    consent: bool = False
    consent_text: str | None = Field(default=None, max_length=2000)
    page_url: str | None = Field(default=None, max_length=2000)
    referrer: str | None = Field(default=None, max_length=2000)
    website: str | None = Field(default=None, max_length=2000)  # the honeypot
    started_at: float | None = None
    # One id per rendered form: a retried post is recorded once.
    submission_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_-]{8,64}$")
    utm: Utm = Field(default_factory=Utm)

    @field_validator("consent", mode="before")
    @classmethod
    def _checkbox(cls, value: object) -> object:
        """An HTML checkbox posts "on"; JSON clients send a boolean."""
        if isinstance(value, str):
            return value.strip().lower() in ("1", "true", "on", "yes")
        return value


class ResourceDownload(StoredModel):
    id: str
    company_id: str
    resource_id: str
    lead_id: str | None
    email: str
    ip: str
    page_url: str | None = None


def download_id(company_id: str, resource_id: str, lead_key: str) -> str:
    """One record per submission: ``lead_key`` is the submission id, or the lead and day."""
    return stable_id(company_id, "download", resource_id, lead_key)


def resource_path(company_id: str, resource_id: str) -> str:
    return f"companies/{company_id}/resources/{resource_id}"


def download_path(company_id: str, record_id: str) -> str:
    return f"companies/{company_id}/resource_downloads/{record_id}"
