"""Hostile template fields, CSV imports and rules inputs, through the functions that take
them: the answer is a 2xx or a 4xx with a message (and the path of the error for rules),
never a 5xx or a hang; nothing rendered shows Python internals; the database stays
consistent (``invariants.py``). Example counts are small (``INPUT_EXAMPLES``) so this file
adds seconds, not minutes, to ``make test``; ``HOSTILE_EXAMPLES`` scales them.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.campaigns.domain.templates import (
    MAX_TEMPLATE_CHARS,
    TemplateProblem,
    lead_context,
    render_message,
    template_error,
)
from shared.scoring.domain.fit import condition_holds
from shared.scoring.domain.rules import Criterion, LeadScoringRule, interaction_deltas, state_deltas
from tests.hostile.conftest import EXAMPLES, HOSTILE
from tests.hostile.invariants import all_documents, problems
from tests.hostile.payloads import FORMULAS, HOSTILE_VALUES, NASTY_STRINGS, csv_bodies
from tests.hostile.test_hostile_http import SLOW_SECONDS
from tests.hostile.world import LEAD, World

INPUT_EXAMPLES = max(10, EXAMPLES // 3)
FEW = settings(HOSTILE, max_examples=INPUT_EXAMPLES)
# What a rendering must never show: reprs of Python objects and engine internals.
LEAKS = (
    "object at 0x",
    "<built-in",
    "<bound method",
    "<function",
    "<class '",
    "TemplateReference",
    "Traceback",
    "jinja2.",
    "site-packages",
    "_Fields",
)
TEMPLATE_ATTACKS = (
    "{{ ''.__class__.__mro__ }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ cycler.__init__.__globals__ }}",
    "{{ lipsum.__globals__['os'] }}",
    "{{ self }}",
    "{{ self.__init__.__globals__ }}",
    "{{ lead.items }}",
    "{{ lead.name.upper }}",
    "{{ lead['__class__'] }}",
    "{{ lead.__class__.__base__ }}",
    "{{ company }}",
    "{{ config }}",
    "{{ request }}",
    "{{ '{0.__class__}'.format(lead) }}",
    "{{ '%s' % lead }}",
    "{{ lead.name|attr('__class__') }}",
    "{{ lead.name|format(1) }}",
    "{{ range(10**9)|list }}",
    "{% for i in range(10**9) %}x{% endfor %}",
    "{% set a = 'xxxxxxxxxx' %}" + "{% set a = a ~ a %}" * 40 + "{{ a }}",
    "{% with a = 'xx' %}{% with b = a ~ a %}{{ b }}{% endwith %}{% endwith %}",
    "{{ ('x' ~ 'y')|join('z') }}",
    "{{ lead.tags|join('" + "x" * 5000 + "') }}",
    "{{ lead.name|truncate(-5) }}",
    "{{ lead.name|replace('', 'xxxxxxxx') }}",
    "{{ 1 / 0 }}",
    "{{ 1e308 * 10 }}",
    "{{ " + "9" * 5000 + " }}",
    "{{ " + "(" * 2000 + "1" + ")" * 2000 + " }}",
    "{{ " + "[" * 2000 + "]" * 2000 + " }}",
    "{% if 1 %}" * 500 + "x" + "{% endif %}" * 500,
    "{{ lead.name ",
    "{% if %}",
    "{{ }}",
    "{% endif %}",
    "{# never closed",
    "{{ nope }}",
    "{{ lead.nothing.deeper }}",
    "{{ contact.title }}",
    "{% include 'x' %}",
    "{% macro m() %}{% endmacro %}",
    "{% raw %}{{ lead }}{% endraw %}",
    "\x00\x01\x1b[31m\ud7ff\ufffe",
    "Hi {{ lead.first_name | default('there') }}",
    "{{ lead.custom_fields }}",
)
TEMPLATES = st.one_of(
    st.sampled_from(TEMPLATE_ATTACKS),
    st.lists(
        st.sampled_from(TEMPLATE_ATTACKS) | st.sampled_from(NASTY_STRINGS) | st.text(max_size=20),
        min_size=1,
        max_size=4,
    ).map("".join),
    st.integers(MAX_TEMPLATE_CHARS - 10, MAX_TEMPLATE_CHARS + 10).map(
        lambda n: "{{ x }}" * (n // 7)
    ),
)
CONTEXT = lead_context(
    {"name": "Jane Doe", "email": "jane@example.com", "tags": ["a"], "custom_fields": {"b": 1}},
    {"name": "Acme"},
)


def no_leak(text: str) -> None:
    assert not [leak for leak in LEAKS if leak in text], text[:500]


def answered(res: Any, elapsed: float, what: Any) -> Any:
    """The common contract; the JSON answer."""
    assert res.status_code < 500, (what, res.status_code, res.get_data()[:500])
    assert elapsed < SLOW_SECONDS, (what, elapsed)
    body = res.get_json(silent=True) or {}
    if res.status_code >= 400:
        message = body.get("error", {}).get("message")
        assert isinstance(message, str) and message, (what, res.get_data()[:500])
    return body


def timed(call: Any, *args: Any, **kwargs: Any) -> tuple[Any, float]:
    started = time.monotonic()
    return call(*args, **kwargs), time.monotonic() - started


# --- template fields -------------------------------------------------------------------


@settings(HOSTILE, max_examples=INPUT_EXAMPLES * 4)
@given(subject=TEMPLATES, body=TEMPLATES)
def test_templates_render_or_name_their_problem(subject: str, body: str) -> None:
    """Checked and rendered directly (many examples, no I/O): an error naming the problem
    or a rendering with no internals, quickly."""
    started = time.monotonic()
    problem = template_error(body)
    try:
        rendered = render_message(subject, body, CONTEXT)
    except TemplateProblem as err:
        assert err.errors and all(isinstance(m, str) and m for m in err.errors.values())
        no_leak(str(err))
    else:
        assert problem is None
        no_leak(rendered.subject + rendered.body)
    assert time.monotonic() - started < SLOW_SECONDS


def test_campaign_templates_saved_and_previewed(world: World) -> None:
    """Hostile templates saved on a draft campaign (staff_api) and previewed (campaigns):
    a 2xx or a 4xx with a message; a preview shows no internals."""
    admin = {"Authorization": world.credentials.good[0]}
    campaign_id = world.hints["campaign_id"][0]
    staff_api, campaigns = world.client("staff_api"), world.client("campaigns")

    @FEW
    @given(subject=TEMPLATES, body=TEMPLATES)
    def probe(subject: str, body: str) -> None:
        template = {"subject": subject[:300], "body": body}
        res, took = timed(
            staff_api.patch,
            f"/companies/acme/campaigns/{campaign_id}",
            json={"template": template},
            headers=admin,
        )
        answered(res, took, template)
        preview = {"action": "preview", "campaign_id": campaign_id, "template": template}
        res, took = timed(campaigns.post, "/", json=preview, headers=admin)
        answered(res, took, template)
        no_leak(res.get_data(as_text=True))
        if res.status_code == 400:  # refused before rendering: the template is at fault
            assert "template" in str(res.get_json()["error"]["details"]), res.get_json()

    probe()
    assert [] == problems(all_documents(world.db), {"acme", "other"})


def test_workflow_message_steps_saved_and_sent(world: World) -> None:
    """Workflow e-mail and SMS steps with hostile text: saved (201) or refused (400 with
    the step's path); a saved one enrolled and run sends without a 5xx."""
    admin = {"Authorization": world.credentials.good[0]}
    workflows, run_task = world.client("workflows"), world.client("run_task")
    text = st.sampled_from(TEMPLATE_ATTACKS) | st.sampled_from(
        ["{first_name}", "{__class__}", "{custom_fields}", "{a.b.c.d}", "{" * 50, "x" * 1601]
    )

    @settings(HOSTILE, max_examples=max(5, INPUT_EXAMPLES // 2))
    @given(subject=text, body=text, sms=text, n=st.integers(0, 10**6))
    def probe(subject: str, body: str, sms: str, n: int) -> None:
        steps = [
            {"id": "mail", "type": "send_email", "subject": subject, "body": body},
            {"id": "sms", "type": "send_sms", "body": sms},
        ]
        definition = {"name": "Hostile", "trigger": {"type": "manual"}, "steps": steps}
        res, took = timed(
            workflows.post, "/", json={"workflow": definition, "id": f"w{n}"}, headers=admin
        )
        body_json = answered(res, took, definition)
        if res.status_code == 400:
            assert body_json["error"]["details"].get("fields"), body_json
            return
        if res.status_code != 201:
            return
        enrol = {"action": "enrol", "id": f"w{n}", "lead_id": LEAD}
        res, took = timed(workflows.post, "/", json=enrol, headers=admin)
        answered(res, took, enrol)
        for task_answer in run_tasks(world, run_task):
            assert task_answer < 500

    probe()
    assert [] == problems(all_documents(world.db), {"acme", "other"})


def run_tasks(world: World, run_task: Any) -> list[int]:
    """Deliver Acme's pending tasks that are due to run_task; the statuses."""
    from datetime import UTC, datetime

    statuses = []
    for _ in range(5):
        due = [
            d.id
            for d in world.db.collection("companies/acme/scheduled_tasks").stream()
            if d.get("status") == "pending" and d.get("scheduled_for") <= datetime.now(UTC)
        ]
        if not due:
            break
        for task_id in due:
            res = run_task.post("/", json={"company_id": "acme", "task_id": task_id})
            statuses.append(res.status_code)
    return statuses


# --- CSV imports -----------------------------------------------------------------------


def test_csv_imports_report_rows_and_import_good_rows_once(world: World) -> None:
    """Hostile CSV files (encodings, delimiters, quoting, NULs, huge headers, formulas):
    a 400 naming the problem, or a report with each bad row by number; importing the same
    file again creates nothing (every good row was imported exactly once)."""
    admin = {"Authorization": world.credentials.good[0]}
    client = world.client("outreach_import")

    @FEW
    @given(upload=csv_bodies())
    def probe(upload: tuple[str | None, bytes]) -> None:
        content_type, raw = upload
        headers = {**admin, "Content-Type": content_type or "text/csv"}
        res, took = timed(client.post, "/", data=raw, headers=headers)
        report = answered(res, took, raw[:300])
        if res.status_code != 200:
            return
        for error in report["errors"]:
            assert isinstance(error["row"], int) and error["row"] >= 2, error
            assert error["fields"] and all(isinstance(m, str) for m in error["fields"].values())
        again = answered(*timed(client.post, "/", data=raw, headers=headers), raw[:300])
        assert (0, 0) == (again["businesses_created"], again["contacts_created"]), again

    probe()
    assert [] == problems(all_documents(world.db), {"acme", "other"})


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        (b"business_name," + b",".join(b"a" for _ in range(20000)) + b"\nAcme\n", "columns"),
        (b"business_name," + b",".join(b"c%d" % i for i in range(5000)) + b"\nA\n", "columns"),
        (b'business_name,city\n"Acme,Paris\nBeta,Rome\n', "line"),
        (b"business_name\nAc\x00me\n", "NUL"),
        ("business_name\nAcme\n".encode("utf-16-le"), "NUL"),
        ("business_name\nAcme\n".encode("utf-16"), "UTF-8"),
    ],
)
def test_unreadable_csv_files_are_refused_quickly(world: World, raw: bytes, says: str) -> None:
    """Regressions: a header of thousands of columns was checked in quadratic time (36 s
    for 30,000); a quote never closed swallowed the rest of the file into one cell; NULs
    (UTF-16 read as UTF-8) were stored. Each is now a prompt 400 saying why."""
    admin = {"Authorization": world.credentials.good[0], "Content-Type": "text/csv"}
    res, took = timed(world.client("outreach_import").post, "/", data=raw, headers=admin)
    body = answered(res, took, raw[:100])
    assert (400, True) == (res.status_code, says in str(body["error"])), body
    assert took < SLOW_SECONDS / 2


def test_formula_cells_are_stored_as_written(world: World) -> None:
    """Formula-like cells (=, +, -, @) are data: stored exactly as written, never evaluated;
    nothing exports them to a spreadsheet (no CSV export exists), so nothing to neutralise."""
    admin = {"Authorization": world.credentials.good[0], "Content-Type": "text/csv"}
    rows = "".join(
        f'F{i} Ltd,f{i}.example,"{cell.replace(chr(34), chr(34) * 2)}"\n'
        for i, cell in enumerate(FORMULAS)
        if "\r" not in cell
    )
    raw = ("business_name,domain,notes\n" + rows).encode()
    res = world.client("outreach_import").post("/", data=raw, headers=admin)
    assert 200 == res.status_code, res.get_json()
    docs = [d.to_dict() for d in world.db.collection("companies/acme/businesses").stream()]
    stored = {d["name"]: d.get("custom_fields", {}).get("notes") for d in docs}
    expected = {f"F{i} Ltd": c.strip() for i, c in enumerate(FORMULAS) if "\r" not in c}
    assert expected == {k: v for k, v in stored.items() if k in expected}


# --- rules inputs ----------------------------------------------------------------------

OPS = st.sampled_from(
    ["exists", "missing", "==", "!=", ">", ">=", "<", "<=", "in", "not-in", "contains"]
)
RULE_VALUES = st.one_of(
    HOSTILE_VALUES,
    st.sampled_from([float("nan"), float("inf"), -float("inf"), 10**30, "1e999", "nan"]),
    st.lists(HOSTILE_VALUES, max_size=3),
)
FIELDS = st.sampled_from(
    ["name", "email", "tags", "custom_fields.budget", "a.b.c.d.e", "__class__", ".", "status"]
).map(lambda f: f) | st.sampled_from(["interaction.status", "interaction.type"])
LEADS = st.fixed_dictionaries(
    {"name": st.sampled_from(["Jane", "", "x" * 1000])},
    optional={
        "tags": st.lists(HOSTILE_VALUES, max_size=3),
        "custom_fields": st.dictionaries(st.sampled_from(["budget", "a"]), RULE_VALUES),
        "status": RULE_VALUES,
    },  # not the score's own fields: only scoring writes them (firestore.rules)
)


@settings(HOSTILE, max_examples=INPUT_EXAMPLES * 4)
@given(field=FIELDS, op=OPS, value=RULE_VALUES, lead=LEADS, interaction=LEADS)
def test_rule_criteria_never_raise(
    field: str, op: str, value: Any, lead: dict[str, Any], interaction: dict[str, Any]
) -> None:
    """Any criterion a valid rule can hold (scoring rules are written by admins through
    staff_api or straight to Firestore) matches or not against any lead and interaction:
    never an exception, which would leave every lead of the company unscored."""
    criterion = Criterion(field=field, op=op, value=value)  # type: ignore[arg-type]
    category = "behavioural" if field.startswith("interaction.") else "demographic"
    rule = LeadScoringRule(id="r", name="r", category=category, criteria=[criterion], points=5)  # type: ignore[arg-type]
    condition_holds(lead, field, op, value)
    state_deltas([rule], lead)
    interaction_deltas([rule], lead, interaction)


def test_contains_with_a_non_text_value_does_not_raise() -> None:
    """Regression: ``name contains 5`` raised TypeError ('in <string>' requires string),
    failing every scoring run and branch that met the rule."""
    assert not condition_holds({"name": "Jane"}, "name", "contains", 5)
    assert condition_holds({"tags": ["a", 5]}, "tags", "contains", 5)
    assert condition_holds({"name": "Jane"}, "name", "contains", "an")


CONDITIONS = st.fixed_dictionaries(
    {"kind": st.sampled_from(["field", "score", "engagement", "nope"]) | st.text(max_size=5)},
    optional={
        "field": FIELDS,
        "op": OPS | st.text(max_size=5),
        "value": RULE_VALUES,
        "event": st.sampled_from(["opened", "clicked", "x"]),
        "within_hours": st.sampled_from([1, 0, -1, 1e308, 10**30]),
        "extra": HOSTILE_VALUES,
    },
)


def _branch(condition: Any) -> list[dict[str, Any]]:
    return [
        {
            "id": "check",
            "type": "branch",
            "branch": {"condition": condition, "then": "a", "else": "a"},
        },
        {"id": "a", "type": "add_tag", "tag": "x"},
    ]


def test_workflow_definitions_are_refused_with_the_error_path(world: World) -> None:
    """Hostile conditions, unknown fields, deep nesting and huge numbers in workflow
    definitions: 201, or 400 listing each error by path (``steps[0].branch...``); a saved
    one enrolled and run never answers a 5xx."""
    admin = {"Authorization": world.credentials.good[0]}
    workflows, run_task = world.client("workflows"), world.client("run_task")
    definitions = st.one_of(
        CONDITIONS.map(lambda c: {"steps": _branch(c)}),
        st.recursive(CONDITIONS, lambda inner: st.lists(inner, max_size=2), max_leaves=6).map(
            lambda c: {"steps": _branch(c)}
        ),
        st.fixed_dictionaries({"steps": st.just(_branch({"field": "name", "op": "contains"}))}),
        st.fixed_dictionaries(
            {"steps": st.just([{"id": "w", "type": "wait", "wait": {"days": 10**30}}])}
        ),
        st.fixed_dictionaries({"steps": st.lists(HOSTILE_VALUES, max_size=2)}),
        st.fixed_dictionaries({"unknown": HOSTILE_VALUES, "steps": st.just(_branch({}))}),
    )

    @FEW
    @given(extra=definitions, value=RULE_VALUES, n=st.integers(0, 10**6))
    def probe(extra: dict[str, Any], value: Any, n: int) -> None:
        if extra["steps"] and isinstance(extra["steps"][0], dict):
            condition = extra["steps"][0].get("branch", {}).get("condition")
            if isinstance(condition, dict) and "value" not in condition:
                condition["value"] = value
        definition = {"name": "Rules", "trigger": {"type": "manual"}, **extra}
        payload = {"workflow": definition, "id": f"r{n}"}
        res, took = timed(workflows.post, "/", json=payload, headers=admin)
        body = answered(res, took, definition)
        if res.status_code == 400:
            fields = body["error"]["details"].get("fields") or {}
            unreadable = "JSON" in body["error"]["message"]  # NaN, nesting: the whole body
            assert unreadable or (fields and all(isinstance(k, str) and k for k in fields)), body
            return
        if res.status_code == 201:
            enrol = {"action": "enrol", "id": f"r{n}", "lead_id": LEAD}
            answered(*timed(workflows.post, "/", json=enrol, headers=admin), enrol)
            assert all(s < 500 for s in run_tasks(world, run_task))

    probe()
    assert [] == problems(all_documents(world.db), {"acme", "other"})


def test_a_branch_on_contains_a_number_runs(world: World) -> None:
    """Regression: a saved branch ``name contains 5`` raised TypeError when it ran."""
    admin = {"Authorization": world.credentials.good[0]}
    workflows = world.client("workflows")
    steps = _branch({"kind": "field", "field": "name", "op": "contains", "value": 5})
    definition = {"name": "Contains", "trigger": {"type": "manual"}, "steps": steps}
    res = workflows.post("/", json={"workflow": definition, "id": "contains"}, headers=admin)
    assert 201 == res.status_code, res.get_json()
    enrol = {"action": "enrol", "id": "contains", "lead_id": LEAD}
    res = workflows.post("/", json=enrol, headers=admin)
    assert 201 == res.status_code, res.get_json()
    execution_id = res.get_json()["enrolment"]["execution_id"]
    assert all(s == 200 for s in run_tasks(world, world.client("run_task")))
    res = workflows.get(f"/?execution_id={execution_id}", headers=admin)
    assert "failed" != res.get_json()["execution"]["status"], res.get_json()


@pytest.mark.parametrize(
    "query", ["id=%2F", "id=..", "id=__x__", "execution_id=a%2Fb", "id=" + "x" * 300]
)
def test_workflow_ids_no_document_can_have_are_unknown(world: World, query: str) -> None:
    """Regression (found by the generated traffic): ``GET /workflows?id=/`` put the id into
    a document path and answered 500; such ids are now a 404, as is an enrolment's
    ``lead_id`` of ``..``."""
    admin = {"Authorization": world.credentials.good[0]}
    res = world.client("workflows").get(f"/?{query}", headers=admin)
    assert 404 == res.status_code, res.get_data()
    enrol = {"action": "enrol", "id": "welcome", "lead_id": ".."}
    res = world.client("workflows").post("/", json=enrol, headers=admin)
    assert 404 == res.status_code, res.get_data()


def test_a_subject_is_one_header_line() -> None:
    """Regression: a lead named "Jane\\r\\nBcc: ..." filled into a workflow subject "Hi
    {name}" made a header the mail library refuses (ValueError at send)."""
    from shared.adapters.messaging import MAIL_POLICY
    from shared.campaigns.services.policy import one_line

    subject = one_line("Hi Jane\r\nBcc: x@evil.example\x00\t!")
    assert "Hi Jane Bcc: x@evil.example !" == subject
    from email.message import EmailMessage

    EmailMessage(policy=MAIL_POLICY)["Subject"] = subject
