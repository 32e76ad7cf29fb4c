"""Outreach as staff REST resources (``staff_api``): businesses, their contacts, who opted
out (suppressions) and the outreach messages.

| resource | read | create, update | delete |
| --- | --- | --- | --- |
| businesses, outreach_contacts | user | manager (ids derived: a duplicate is a 409) | manager |
| suppressions | manager | user (a do-not-contact request taken by phone) | admin |
| outreach_messages | user | the campaigns function | - |

The list queries are written out literally so ``tests/unit/test_indexes.py`` can read them.
"""

from typing import Annotated, Any, Literal, Self

from pydantic import Field, TypeAdapter, ValidationError, field_validator, model_validator

from shared.campaigns.domain.compliance import (
    Channel,
    Suppression,
    SuppressionReason,
    normalize_address,
    normalize_phone,
    suppression_id,
)
from shared.campaigns.domain.outreach import (
    MAX_CUSTOM_COLUMNS,
    Business,
    Contact,
    Label,
    OutreachMessage,
    business_id,
    contact_id,
    normalize_business_name,
    normalize_domain,
)
from shared.campaigns.domain.outreach_keys import MessageStatus
from shared.domain.common import ONE_LINE, Email, normalize_email
from shared.domain.consent import LawfulBasis, recorded_basis
from shared.domain.identity import Role, StaffIdentity
from shared.ports import Data, DocumentStore, Filter, Snapshot
from shared.staff_api.domain.edits import DocId, EditModel
from shared.staff_api.domain.lists import PageQuery, Scope
from shared.staff_api.services.resources import ResourceSpec, enum_values


class BusinessFields(EditModel):
    # create only, with domain
    name: Annotated[str, Field(min_length=1, max_length=200), ONE_LINE] = ""
    domain: str | None = Field(default=None, max_length=2000)
    industry: Label | None = None
    city: Label | None = None
    country: Label | None = None
    phone: str | None = Field(default=None, max_length=40)
    timezone: str | None = Field(default=None, max_length=64)
    custom_fields: dict[str, Any] = Field(default={}, max_length=MAX_CUSTOM_COLUMNS)

    _domain = field_validator("domain")(
        classmethod(lambda cls, v: normalize_domain(v) if v else None)
    )


class ContactFields(EditModel):
    email: Email = ""  # create only: the id is derived from it
    business_id: DocId | None = None
    first_name: Label | None = None
    last_name: Label | None = None
    title: Label | None = None
    phone: str | None = Field(default=None, max_length=40)
    timezone: str | None = Field(default=None, max_length=64)
    custom_fields: dict[str, Any] = Field(default={}, max_length=MAX_CUSTOM_COLUMNS)
    # Marketing e-mail to them without consent (stored with who set it and when).
    lawful_basis: LawfulBasis | None = None


_EMAIL: TypeAdapter[str] = TypeAdapter(Email)


class SuppressionFields(EditModel):
    channel: Channel = "email"
    address: str = Field(default="", min_length=3, max_length=254)
    reason: Literal[SuppressionReason.MANUAL, SuppressionReason.BOUNCED] = SuppressionReason.MANUAL
    detail: str | None = Field(default=None, max_length=500)

    @model_validator(mode="after")
    def _address_fits_channel(self) -> Self:
        if self.address and self.channel == "email":
            try:
                _EMAIL.validate_python(self.address)
            except ValidationError as err:
                raise ValueError("address: not an e-mail address") from err
        if self.address and self.channel == "sms" and len(normalize_phone(self.address)) < 6:
            raise ValueError("address: not a phone number")
        return self


def _derive_business(_s: DocumentStore, _staff: StaffIdentity, _scope: Scope, data: Data) -> Data:
    return {"name_normalized": normalize_business_name(str(data["name"])), "source": "staff"}


def _derive_contact(_s: DocumentStore, staff: StaffIdentity, _scope: Scope, data: Data) -> Data:
    """The normalised e-mail on creation (create-only: a change keeps the stored one); a
    lawful basis just set, as the record of who set it and when."""
    derived = recorded_basis(staff, data) | {"source": "staff"}
    if "email_normalized" in data:
        return derived
    return derived | {"email_normalized": normalize_email(str(data["email"]))}


def _derive_suppression(
    _s: DocumentStore, _staff: StaffIdentity, _scope: Scope, data: Data
) -> Data:
    channel: Channel = "sms" if data.get("channel") == "sms" else "email"
    return {"address": normalize_address(channel, str(data["address"])), "source": "staff"}


def _suppression_id(data: Data) -> str:
    channel: Channel = "sms" if data.get("channel") == "sms" else "email"
    return suppression_id(channel, str(data["address"]))


def list_businesses(store: DocumentStore, q: PageQuery) -> list[Snapshot]:
    """Businesses by creation time."""
    w = q.window
    filters = [
        Filter("created_at", ">=", w.low),
        Filter("created_at", "<=", w.high),
        Filter("id", ">", w.after_id),
        Filter("id", "<", w.before_id),
    ]
    order_by = (
        [("created_at", True), ("id", True)]
        if q.descending
        else [("created_at", False), ("id", False)]
    )
    return store.query(f"companies/{q.company_id}/businesses", filters, order_by, q.limit)


def list_contacts(store: DocumentStore, q: PageQuery) -> list[Snapshot]:
    """Outreach contacts by creation time."""
    w = q.window
    filters = [
        Filter("created_at", ">=", w.low),
        Filter("created_at", "<=", w.high),
        Filter("id", ">", w.after_id),
        Filter("id", "<", w.before_id),
    ]
    order_by = (
        [("created_at", True), ("id", True)]
        if q.descending
        else [("created_at", False), ("id", False)]
    )
    return store.query(f"companies/{q.company_id}/outreach_contacts", filters, order_by, q.limit)


def list_suppressions(store: DocumentStore, q: PageQuery) -> list[Snapshot]:
    """Suppressions of some channels by creation time."""
    w = q.window
    filters = [
        Filter("channel", "in", q.values["channel"]),
        Filter("created_at", ">=", w.low),
        Filter("created_at", "<=", w.high),
        Filter("id", ">", w.after_id),
        Filter("id", "<", w.before_id),
    ]
    order_by = (
        [("created_at", True), ("id", True)]
        if q.descending
        else [("created_at", False), ("id", False)]
    )
    return store.query(f"companies/{q.company_id}/suppressions", filters, order_by, q.limit)


def list_messages(store: DocumentStore, q: PageQuery) -> list[Snapshot]:
    """Outreach messages of some statuses by creation time."""
    w = q.window
    filters = [
        Filter("status", "in", q.values["status"]),
        Filter("created_at", ">=", w.low),
        Filter("created_at", "<=", w.high),
        Filter("id", ">", w.after_id),
        Filter("id", "<", w.before_id),
    ]
    order_by = (
        [("created_at", True), ("id", True)]
        if q.descending
        else [("created_at", False), ("id", False)]
    )
    return store.query(f"companies/{q.company_id}/outreach_messages", filters, order_by, q.limit)


OUTREACH_RESOURCES = (
    ResourceSpec(
        "businesses",
        Business,
        {"created_at": ("time", list_businesses)},
        BusinessFields,
        required=frozenset({"name"}),
        create_only=frozenset({"name", "domain"}),
        derive=_derive_business,
        new_id=lambda data: business_id(str(data["name"]), data.get("domain")),
    ),
    ResourceSpec(
        "outreach_contacts",
        Contact,
        {"created_at": ("time", list_contacts)},
        ContactFields,
        required=frozenset({"email"}),
        create_only=frozenset({"email"}),
        derive=_derive_contact,
        new_id=lambda data: contact_id(str(data["email"])),
    ),
    ResourceSpec(
        "suppressions",
        Suppression,
        {"created_at": ("time", list_suppressions)},
        SuppressionFields,
        filters={"channel": ("email", "sms")},
        required=frozenset({"address"}),
        read=Role.MANAGER,
        write=Role.USER,
        delete=Role.ADMIN,
        patchable=False,
        derive=_derive_suppression,
        new_id=_suppression_id,
    ),
    ResourceSpec(
        "outreach_messages",
        OutreachMessage,
        {"created_at": ("time", list_messages)},
        filters={"status": enum_values(MessageStatus)},
        writes_elsewhere="campaigns",
    ),
)
