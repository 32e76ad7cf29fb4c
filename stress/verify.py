"""Reading Firestore back after the load: was every accepted submission stored exactly once?

A submission is accepted when any of its requests (a replay shares the original's key)
got a 2xx. Accepted lead posts must have their interaction (or spam record) at the id
derived from their submission id; redemptions their marker. Then every lead must count
exactly the submissions accepted for it, every code exactly its accepted redemptions, and
the rate-limit counters exactly the accepted posts. Anything stored for a submission that
was never accepted is reported too.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from shared.domain.common import canonical_email, stable_id
from shared.domain.leads import lead_id_for
from stress.load import Outcome, Post


@dataclass
class Findings:
    accepted: int = 0
    lost: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    unacknowledged: list[str] = field(default_factory=list)
    counters: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.lost or self.duplicates or self.unacknowledged or self.counters)


def expected_path(post: Post) -> str:
    """Where the submission leaves its unique mark (for an address that is none, a path
    no document has: such a post must be refused, so it may leave no mark)."""
    c = post.company
    try:
        return _mark(post, c)
    except ValueError:
        return f"companies/{c}/(refused: {post.body.get('email')!r} is not an address)"


def _mark(post: Post, c: str) -> str:
    if post.kind == "redeem":
        return (
            f"companies/{c}/referral_redemptions/{stable_id(canonical_email(post.body['email']))}"
        )
    record = stable_id(c, "submission", str(post.body["submission_id"]))
    if post.body.get("website"):
        return f"companies/{c}/spam_submissions/{record}"
    return f"companies/{c}/leads/{lead_id_for(post.body['email'])}/interactions/{record}"


def snapshot(db: Any, companies: list[str]) -> dict[str, dict[str, Any]]:
    """Every document the checks need, by path."""
    found = {d.reference.path: d.to_dict() for d in db.collection_group("interactions").stream()}
    for company in companies:
        for name in (
            "leads",
            "spam_submissions",
            "referral_redemptions",
            "rate_limits",
            "referrals",
        ):
            for doc in db.collection(f"companies/{company}/{name}").stream():
                found[doc.reference.path] = doc.to_dict()
                if name == "referrals":
                    for shard in doc.reference.collection("shards").stream():
                        found[shard.reference.path] = shard.to_dict()
    return found


def verify(outcomes: list[Outcome], docs: dict[str, dict[str, Any]]) -> Findings:
    accepted: dict[tuple[str, ...], Post] = {}
    for outcome in outcomes:
        if outcome.accepted:
            accepted.setdefault(outcome.post.key, outcome.post)
    findings = Findings(accepted=len(accepted))
    for key, post in accepted.items():
        if expected_path(post) not in docs:
            findings.lost.append(f"{'/'.join(key)}: nothing at {expected_path(post)}")
    for outcome in outcomes:
        key = outcome.post.key
        if key not in accepted and expected_path(outcome.post) in docs:
            findings.unacknowledged.append(f"{'/'.join(key)}: stored, never answered 2xx")
    _lead_counts(list(accepted.values()), docs, findings)
    _code_uses(list(accepted.values()), docs, findings)
    _rate_counters(list(accepted.values()), docs, findings)
    return findings


def _lead_counts(posts: list[Post], docs: dict[str, dict[str, Any]], out: Findings) -> None:
    """Each lead counts (and shows) exactly the submissions accepted for it."""
    expected = Counter(
        f"companies/{p.company}/leads/{lead_id_for(p.body['email'])}"
        for p in posts
        if not p.body.get("website")
    )
    forms = Counter(
        path.rsplit("/", 2)[0]
        for path, data in docs.items()
        if "/interactions/" in path and data.get("type") == "form"
    )
    leads = {p: d for p, d in docs.items() if p.count("/") == 3 and "/leads/" in p}
    for path in set(expected) | set(leads):
        want, count = expected[path], int(leads.get(path, {}).get("submission_count", 0))
        for got, what in ((count, "submission_count"), (forms[path], "form interactions")):
            if got > want:
                out.duplicates.append(f"{path}: {what} {got}, {want} accepted")
            elif got < want:
                out.lost.append(f"{path}: {what} {got}, {want} accepted")


def _code_uses(posts: list[Post], docs: dict[str, dict[str, Any]], out: Findings) -> None:
    """Each code was used exactly as often as its redemptions were accepted."""
    expected = Counter(
        f"companies/{p.company}/referrals/{p.body['code']}" for p in posts if p.kind == "redeem"
    )
    codes = [p for p in docs if p.count("/") == 3 and "/referrals/" in p]
    for code in codes:
        parts = [docs[code], *(d for p, d in docs.items() if p.startswith(f"{code}/shards/"))]
        used = sum(int(part.get("times_used", 0)) for part in parts)
        if used != expected[code]:
            bucket = out.duplicates if used > expected[code] else out.lost
            bucket.append(f"{code}: used {used} times, {expected[code]} redemptions accepted")


def _rate_counters(posts: list[Post], docs: dict[str, dict[str, Any]], out: Findings) -> None:
    """Per company, the per-IP and the per-minute counters add up to the accepted posts."""
    expected = Counter(p.company for p in posts if p.kind == "lead")
    for company, want in expected.items():
        for prefix in ("ip-", "all-"):
            got = sum(
                int(d.get("count", 0))
                for p, d in docs.items()
                if p.startswith(f"companies/{company}/rate_limits/{prefix}")
            )
            if got != want:
                out.counters.append(f"{company} {prefix}* counters: {got}, {want} accepted")
