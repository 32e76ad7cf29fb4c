"""Which functions send e-mail or SMS: each says so (``sends=True``) where it is declared,
found here from the code, and no other may reach the messenger."""

from __future__ import annotations

import ast
import importlib
import inspect

import pytest

from functions._context import Context
from shared.manifest import FUNCTIONS, MESSAGING_SECRETS, by_name


def _reaches_messenger(module_name: str, entry: str) -> bool:
    """Whether the entry point, or a function of its module it calls (however deep),
    reads ``.messenger`` (of its request or context)."""
    tree = ast.parse(inspect.getsource(importlib.import_module(module_name)))
    defs = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
    seen, todo = set(), [entry]
    while todo:
        name = todo.pop()
        if name in seen or name not in defs:
            continue
        seen.add(name)
        for node in ast.walk(defs[name]):
            if isinstance(node, ast.Attribute) and node.attr == "messenger":
                return True
            if isinstance(node, ast.Name):
                todo.append(node.id)
    return False


def test_the_functions_whose_code_reaches_the_messenger_are_declared_sends() -> None:
    """Read from the code, not listed by hand: a function that reaches the messenger
    without ``sends=True`` would be deployed without the mail and SMS settings."""
    reaching = {f.name for f in FUNCTIONS if _reaches_messenger(f.module, f.name)}
    declared = {f.name for f in FUNCTIONS if f.sends}
    assert reaching == declared
    assert {"run_task", "request_review", "newsletter_signup", "company_users"} <= declared


def test_a_sending_function_needs_the_providers_passwords() -> None:
    assert set(MESSAGING_SECRETS) <= set(by_name("run_task").required_secrets)
    assert not set(MESSAGING_SECRETS) & set(by_name("lead_intake").required_secrets)


@pytest.mark.parametrize("name", ["lead_intake", "email_events", "dispatch_due_tasks"])
def test_a_function_not_declared_sends_cannot_reach_the_messenger(name: str) -> None:
    """Whatever path a service takes to it, the messenger is refused to a function that
    did not declare it (a bug the tests see, not a silent non-delivery in production)."""
    by_name(name)
    with pytest.raises(RuntimeError, match="sends=True"):
        _ = Context(name).messenger
