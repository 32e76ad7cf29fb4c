"""The ``email`` platform: content sent as a newsletter issue, not posted anywhere.

An e-mail content item (or any content naming ``email``) becomes an issue of the company's
newsletter, sent to its confirmed subscribers through ``shared.services.newsletter_issues``
(throttled batches, once per subscriber, one-click unsubscribe). The issue's id is derived
from the content's, so publishing the same content again finds the first issue and sends
nothing more, which is also how ``find`` answers after a lost answer.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from shared.domain.content import Post, Receipt
from shared.domain.identity import Role, StaffIdentity
from shared.errors import NotFound
from shared.ports import DocumentStore, TaskQueue

if TYPE_CHECKING:
    from shared.services.publishing import Publisher

PLATFORM = "email"


class NewsletterPublisher:
    """Implements ``shared.services.publishing.Publisher`` for the ``email`` platform."""

    def __init__(
        self,
        store: DocumentStore,
        queue: TaskQueue,
        clock: Callable[[], datetime],
        functions_base_url: str,
    ) -> None:
        self.store, self.queue, self.clock = store, queue, clock
        self.base_url = functions_base_url.rstrip("/")

    def publish(self, post: Post) -> Receipt:
        from shared.domain.newsletter_issues import IssueFields
        from shared.services.newsletter_issues import send_issue

        fields = IssueFields(subject=post.title, body=post.body)
        system = StaffIdentity("system:publishing", post.company_id, Role.ADMIN)
        issue = send_issue(
            self.store, self.queue, self.clock(), system, fields, source_content_id=post.content_id
        )
        return self._receipt(issue.id)

    def find(self, post: Post) -> Receipt | None:
        from shared.services.newsletter_issues import issue_id_for, load_issue

        issue_id = issue_id_for(post.company_id, post.content_id)
        try:
            load_issue(self.store, post.company_id, issue_id)
        except NotFound:
            return None
        return self._receipt(issue_id)

    def destinations(self, company_id: str, platform: str) -> list[str]:
        return [platform]

    def _receipt(self, issue_id: str) -> Receipt:
        # Where staff read the issue's figures (the `newsletters` staff function).
        return Receipt(url=f"{self.base_url}/newsletters?id={issue_id}", external_id=issue_id)


class WithNewsletter:
    """A publisher for every platform, the ``email`` one sending newsletter issues."""

    def __init__(self, platforms: Publisher, newsletter: NewsletterPublisher) -> None:
        self.platforms, self.newsletter = platforms, newsletter

    def publish(self, post: Post) -> Receipt:
        return self._for(post.platform).publish(post)

    def find(self, post: Post) -> Receipt | None:
        return self._for(post.platform).find(post)

    def destinations(self, company_id: str, platform: str) -> list[str]:
        return self._for(platform).destinations(company_id, platform)

    def _for(self, platform: str) -> Publisher:
        return self.newsletter if platform == PLATFORM else self.platforms
