"""What a workflow step works with (``StepContext``) and what it gives back (``StepEffect``).

A step returns the writes it needs (the lead guarded by the update time read, a counter,
a staff task, a timeline interaction) instead of committing them: the engine commits them
with the step's ledger entry and the enrolment's new cursor, all or nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from msgspec import Struct, field

from shared.domain.company import Company
from shared.ports import DocumentStore, Messenger, Snapshot, Write
from shared.workflows.domain.definition import Step, Workflow
from shared.workflows.domain.runtime import Execution, following, message_key


class Webhooks(Protocol):
    def post(
        self, url: str, payload: dict[str, Any], *, timeout: float, idempotency_key: str
    ) -> int:
        """POST ``payload`` as JSON and return the status; raises ``Transient`` on
        timeouts, 429 and 5xx, ``InvalidInput`` on other refusals."""
        ...


class StepContext(Struct, frozen=True):
    """One step run: the ports, the enrolment, the lead as read, and which visit of the
    step this is (a step inside a loop runs once per visit)."""

    store: DocumentStore
    messenger: Messenger
    webhooks: Webhooks
    now: datetime
    execution: Execution
    workflow: Workflow
    step: Step
    visit: int
    lead: Snapshot
    company: Company
    interactions: list[dict[str, Any]]

    @property
    def lead_data(self) -> dict[str, Any]:
        return self.lead.data or {}

    @property
    def company_id(self) -> str:
        return self.execution.company_id

    @property
    def company_name(self) -> str:
        return self.company.name

    @property
    def key(self) -> str:
        """(enrolment, step, visit): the idempotency key of whatever the step sends."""
        return message_key(self.company_id, self.execution.id, self.step.id, self.visit)

    @property
    def after(self) -> str:
        """The step that follows this one (when it is not a branch)."""
        return following(self.workflow, self.step)

    def lead_update(self, fields: dict[str, Any]) -> Write:
        """A lead change that fails (and is retried) if the lead changed since read."""
        data = {**fields, "updated_at": self.now}
        return Write(self.lead.path, data, "update", self.lead.update_time)


class StepEffect(Struct, frozen=True):
    outcome: str
    next: str
    writes: list[Write] = field(default_factory=list)
    resume_at: datetime | None = None  # a wait: the next step runs in a new task then
    exit: bool = False
    detail: dict[str, Any] = field(default_factory=dict)
