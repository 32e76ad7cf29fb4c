"""The rules engine on whole rulesets: functions and scopes, match blocks and wildcards,
``get()``/``exists()``, and queries checked symbolically against their filters."""

from __future__ import annotations

from typing import Any

import pytest

from localcloud.firestore import pb
from localcloud.firestore.errors import FirestoreError
from localcloud.firestore.rules import Rules
from localcloud.firestore.rules.context import Identity, request_map
from localcloud.firestore.rules.evaluator import Documents, Scope
from localcloud.firestore.rules.guard import Guard
from localcloud.firestore.rules.matcher import ANY_PATH, grants
from localcloud.firestore.rules.runtime import UNKNOWN, RulePath
from localcloud.firestore.store import Store

DB = ("databases", "(default)", "documents")
ROOT = "projects/p/databases/(default)/documents"


def service(body: str, version: str = "2") -> Rules:
    return Rules.parse(
        f"rules_version = '{version}';\nservice cloud.firestore {{\n"
        f"  match /databases/{{database}}/documents {{\n{body}\n  }}\n}}\n"
    )


def decide(rules: Rules, method: str, path: str, uid: str | None = None, **claims: Any) -> Any:
    """The decision on ``method`` of ``path`` for user ``uid`` (None: nobody)."""
    segments = (*DB, *path.strip("/").split("/"))
    who = Identity(claims={"sub": uid, **claims}) if uid else Identity()
    request = request_map(who, method, RulePath(segments), 0)
    resource = {"data": {}, "id": segments[-1], "__name__": RulePath(segments)}
    stored = {"users/admin": {"admin": True}}

    def read(p: RulePath) -> dict[str, object] | None:
        key = "/".join(p.segments[3:])
        return {"data": stored[key], "id": p.segments[-1]} if key in stored else None

    return rules.decide(method, segments, request, resource, Documents("db", read))


def test_functions_with_let_see_their_match_variables() -> None:
    """A function declared in a match block sees its path variables; ``let`` binds."""
    rules = service(
        """
    function same(a, b) { let left = a; return left == b; }
    match /users/{userId} {
      function self() { return same(request.auth.uid, userId); }
      allow get: if self();
    }"""
    )
    assert (True, False) == (
        decide(rules, "get", "users/u1", "u1").allowed,
        decide(rules, "get", "users/u1", "u2").allowed,
    )


def test_endless_recursion_is_an_error_not_a_crash() -> None:
    """Calls nest at most 20 deep, as in Firestore."""
    rules = service("match /a/{b} { function f(x) { return f(x); } allow get: if f(1); }")
    decision = decide(rules, "get", "a/b", "u1")
    assert (False, ["evaluation error at L4:40: Maximum function call depth exceeded."]) == (
        decision.allowed,
        [r.split(" for ")[0] for r in decision.reasons],
    )


@pytest.mark.parametrize(
    ("version", "path", "expected"),
    [
        ("2", "a/b", True),
        ("2", "a/b/c/d", True),
        ("1", "a/b", False),
        ("1", "a/b/c/d", True),
    ],
)
def test_recursive_wildcard_matches_zero_or_more_segments_in_v2(
    version: str, path: str, expected: bool
) -> None:
    """``{rest=**}``: zero or more segments in rules_version 2, one or more in 1."""
    rules = service("match /a/{b}/{rest=**} { allow get: if true; }", version)
    assert expected == decide(rules, "get", path, "u1").allowed


def test_recursive_wildcard_binds_a_path() -> None:
    """The recursive variable is a path: compared with ``path()``, indexed by segment."""
    rules = service("match /{rest=**} { allow get: if rest == path('c/d') && rest[1] == 'd'; }")
    assert (True, False) == (
        decide(rules, "get", "c/d", "u1").allowed,
        decide(rules, "get", "c/e", "u1").allowed,
    )


def test_methods_read_and_write_cover_their_parts() -> None:
    """``read`` is get and list, ``write`` create, update and delete; nothing else."""
    rules = service("match /a/{b} { allow read: if true; allow create, delete: if true; }")
    allowed = {m: decide(rules, m, "a/b", "u").allowed for m in ("get", "list", "create")}
    allowed |= {m: decide(rules, m, "a/b", "u").allowed for m in ("update", "delete")}
    assert {"get": True, "list": True, "create": True, "update": False, "delete": True} == allowed


def test_no_matching_rule_denies() -> None:
    """A path no match block covers is denied, and the denial says so."""
    decision = decide(service("match /a/{b} { allow read: if true; }"), "get", "x/y", "u")
    assert (False, "No matching allow statements") == (decision.allowed, decision.explain())


def test_get_and_exists_read_other_documents() -> None:
    """``get()`` returns another document's resource, ``exists()`` whether it is there."""
    rules = service(
        """
    match /a/{b} {
      allow get: if get(/databases/$(database)/documents/users/$(request.auth.uid)).data.admin;
      allow list: if exists(/databases/$(database)/documents/users/$(request.auth.uid));
    }"""
    )
    assert (True, False, True, False) == (
        decide(rules, "get", "a/b", "admin").allowed,
        decide(rules, "get", "a/b", "other").allowed,
        decide(rules, "list", "a/b", "admin").allowed,
        decide(rules, "list", "a/b", "other").allowed,
    )


def test_collection_group_needs_a_recursive_wildcard() -> None:
    """A collection group's documents can live anywhere: only ``{x=**}`` covers them."""
    rules = service(
        """
    match /companies/{c}/leads/{id} { allow list: if true; }
    match /{path=**}/leads/{id} { allow list: if true; }"""
    )
    group = grants(rules.ruleset, [*DB, ANY_PATH, "leads", UNKNOWN], "list", Scope({}))
    one = grants(rules.ruleset, [*DB, "companies", "a", "leads", UNKNOWN], "list", Scope({}))
    assert ([6], [5, 6]) == ([g.allow.line for g in group], [g.allow.line for g in one])


# --- queries -----------------------------------------------------------------------------


def value(v: Any) -> Any:
    if isinstance(v, list):
        return pb.Value(array_value=pb.ArrayValue(values=[value(x) for x in v]))
    if isinstance(v, int):
        return pb.Value(integer_value=v)
    return pb.Value(string_value=v)


def where(path: str, op: str, v: Any) -> Any:
    ops = {"==": "EQUAL", ">": "GREATER_THAN", "in": "IN"}
    field = pb.StructuredQuery.FieldFilter(
        field=pb.StructuredQuery.FieldReference(field_path=path),
        op=pb.FieldOp.Value(ops[op]),
        value=value(v) if path != "__name__" else pb.Value(reference_value=f"{ROOT}/items/{v}"),
    )
    return pb.StructuredQuery.Filter(field_filter=field)


def combine(op: str, *filters: Any) -> Any:
    composite = pb.StructuredQuery.CompositeFilter(op=pb.CompositeOp.Value(op), filters=filters)
    return pb.StructuredQuery.Filter(composite_filter=composite)


def query_allowed(rule: str, flt: Any | None, limit: int | None = None, **claims: Any) -> bool:
    """Whether ``allow list: if <rule>`` on /items allows a query with filter ``flt``."""
    guard = Guard(service(f"match /items/{{id}} {{ allow list: if {rule}; }}"), Store())
    sq = pb.StructuredQuery(from_=[pb.StructuredQuery.CollectionSelector(collection_id="items")])
    if flt is not None:
        sq.where.CopyFrom(flt)
    if limit is not None:
        sq.limit.value = limit
    try:
        guard.check_list(ROOT, sq, Identity(claims={"sub": "u1", **claims}))
    except FirestoreError:
        return False
    return True


OWNED = "resource.data.owner == request.auth.uid"


@pytest.mark.parametrize(
    ("flt", "expected"),
    [
        (None, False),
        (where("owner", "==", "u1"), True),
        (where("owner", "==", "u2"), False),
        (where("owner", "in", ["u1"]), True),
        (where("owner", "in", ["u1", "u2"]), False),
        (combine("AND", where("owner", "==", "u1"), where("score", ">", 3)), True),
        (combine("OR", where("owner", "==", "u1"), where("owner", "==", "u2")), False),
        (
            combine(
                "OR",
                combine("AND", where("owner", "==", "u1"), where("x", "==", 1)),
                combine("AND", where("x", "==", 2), where("owner", "==", "u1")),
            ),
            True,
        ),
        (combine("AND", where("owner", "==", "u1"), where("owner", "==", "u2")), False),
    ],
)
def test_query_allowed_only_when_filters_imply_the_rule(flt: Any, expected: bool) -> None:
    """The rule must hold for every document the query could return."""
    assert expected == query_allowed(OWNED, flt)


def test_query_rules_on_other_things_than_the_filters() -> None:
    """Claims decide without filters; an unfixed field or id stays undecided unless
    ``||`` makes it irrelevant; nested fields, get() defaults, ids and limits."""
    admin_or_owner = f"request.auth.token.admin == true || {OWNED}"
    public = "resource.data.get('visibility', 'private') == 'public'"
    assert [True, False, True, True, False, False, True, True, False] == [
        query_allowed(admin_or_owner, None, admin=True),
        query_allowed(admin_or_owner, None),
        query_allowed("resource.data.meta.owner == 'u1'", where("meta.owner", "==", "u1")),
        query_allowed(public, where("visibility", "==", "public")),
        query_allowed(public, None),
        query_allowed("id == 'x'", None),
        query_allowed("id == 'x' && resource.id == 'x'", where("__name__", "==", "x")),
        query_allowed("request.query.limit <= 10", None, limit=5),
        query_allowed("request.query.limit <= 10", None),
    ]
