"""Firestore round trips per operation: the bundle's functions against the naive way.

Each operation runs through functions-framework (the function's own WSGI app, in this
process) against the local Firestore; its RPCs are read from the server's counters for the
bench's project. Every RPC is one round trip (a streamed read or query is one request).
"""

from __future__ import annotations

import argparse
from typing import Any

from bench.naive import NAIVE
from bench.report import Table
from bench.scenarios import OPERATIONS, Scenario
from bench.stack import BenchStack

# The budgets: a new lead never queries to deduplicate, a redemption is one
# transaction of three round trips, a trigger is a batched read and a commit.
TARGETS = {
    "new lead": 2,
    "referral redemption": 3,
    "trigger: lead written": 2,
    "trigger: interaction created": 2,
    "trigger: review completed": 2,
    "trigger: content scheduled": 2,
}


def app_client(function: str) -> Any:
    import functions_framework

    app = functions_framework.create_app(function, "functions/main.py")  # type: ignore[no-untyped-call]
    return app.test_client()


def ours(stack: BenchStack, scenario: Scenario, client: Any, n: int) -> tuple[dict[str, int], int]:
    """The RPCs one call of the function made, and its HTTP status."""
    request = scenario.prepare(stack, n)
    with stack.round_trips() as rpcs:
        response = client.open(
            request.path, method=request.method, data=request.body, headers=request.headers
        )
    return rpcs, response.status_code


def naive(stack: BenchStack, name: str, n: int) -> dict[str, int]:
    operation = NAIVE[name](stack, n)
    with stack.round_trips() as rpcs:
        operation()
    return rpcs


def _breakdown(rpcs: dict[str, int]) -> str:
    short = {"BatchGetDocuments": "get", "BeginTransaction": "begin", "RunQuery": "query"}
    return ", ".join(f"{v} {short.get(k, k.lower())}" for k, v in sorted(rpcs.items()))


def run(stack: BenchStack, runs: int = 3) -> Table:
    """Every operation ``runs`` times (the worst count is reported) and its naive twin."""
    table = Table(
        "Firestore round trips per operation",
        ["operation", "function", "round trips", "RPCs", "naive", "naive / ours", "target"],
    )
    clients: dict[str, Any] = {}
    for scenario in OPERATIONS:
        client = clients.setdefault(scenario.function, app_client(scenario.function))
        measured = [ours(stack, scenario, client, 1000 + n) for n in range(runs)]
        worst = max(measured, key=lambda m: sum(m[0].values()))[0]
        statuses = sorted({status for _, status in measured})
        naive_rpcs = naive(stack, scenario.name, 1000)
        count, naive_count = sum(worst.values()), sum(naive_rpcs.values())
        target = TARGETS.get(scenario.name)
        verdict = (
            "" if target is None else f"<= {target} " + ("met" if count <= target else "MISSED")
        )
        table.add(
            [
                scenario.name,
                scenario.function,
                count,
                _breakdown(worst),
                naive_count,
                f"{naive_count / count:.1f}x",
                verdict,
            ],
            operation=scenario.name,
            ours=worst,
            naive=naive_rpcs,
            target=target,
            statuses=statuses,
        )
        if any(status >= 300 for status in statuses):
            table.notes.append(f"- {scenario.name}: HTTP statuses {statuses} (expected 2xx).")
    table.notes.append(
        "Naive: the same documents read and written, one RPC per document, a query where "
        "the bundle derives a document id, no transactions (bench/naive.py)."
    )
    return table


def run_section(stack: BenchStack, _args: argparse.Namespace) -> list[Table]:
    return [run(stack)]
