"""The local Firestore with and without rules: loading (syntax errors at start, on the
command line too), the open default, Listen targets and per-write BatchWrite statuses."""

from __future__ import annotations

import queue
import subprocess
import sys
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.rpc import code_pb2

from localcloud.firestore import FirestoreServer, pb
from localcloud.firestore.rules import Rules, RulesSyntaxError
from localcloud.firestore.testing import mock_id_token, user_client
from shared.devstack.stack import RULES
from tests.integration.rules_support import seed

BROKEN = "rules_version = '2';\nservice cloud.firestore {\n  match /a/{b} {\n    allow read: if;\n"


def test_the_repo_rules_parse_and_serve_loads_them() -> None:
    """``make serve`` enforces the repo's firestore.rules, which parses."""
    assert "firestore.rules" == RULES.name
    assert "2" == Rules.load(RULES).ruleset.version


def test_a_syntax_error_stops_the_server_with_its_position(tmp_path: Path) -> None:
    """A broken rules file is refused at start, naming the line and column."""
    rules = tmp_path / "broken.rules"
    rules.write_text(BROKEN)
    with pytest.raises(RulesSyntaxError) as raised:
        FirestoreServer(rules_path=rules)
    assert (4, 19) == (raised.value.line, raised.value.column)
    command = [sys.executable, "-m", "localcloud", "firestore", "--port", "0", "--rules", rules]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    expected = f"error: {rules}:4:19: expected an expression but found ';'"
    assert (1, expected) == (result.returncode, result.stderr.strip())


def test_without_rules_everything_is_open(firestore_env: str, project_id: str) -> None:
    """With no rules configured (as the emulator without --rules) a visitor may write."""
    visitor = user_client(project_id, None)
    visitor.document("companies/a/leads/l1").set({"status": "new"})
    assert "new" == visitor.document("companies/a/leads/l1").get().get("status")
    visitor.close()


def _raw(address: str, token: str, method: str, request: Any, response: Any, stream: bool) -> Any:
    """Call one RPC with a raw gRPC channel (to see what the client library hides)."""
    channel = grpc.insecure_channel(address)
    kind = channel.stream_stream if stream else channel.unary_unary
    call = kind(
        f"/google.firestore.v1.Firestore/{method}",
        request_serializer=lambda m: m.SerializeToString(),
        response_deserializer=response.FromString,
    )
    return channel, call(request, metadata=[("authorization", f"Bearer {token}")])


def test_listen_targets_are_checked(
    rules_db: Any, client_as: Any, rules_server: FirestoreServer, project_id: str
) -> None:
    """A snapshot listener on one's own document works; a target on another company's
    is removed with PERMISSION_DENIED, as Firestore reports it."""
    seed(rules_db)
    user = client_as("a-user", company_id="a", role="user")
    seen: queue.Queue[list[str]] = queue.Queue()
    watch = user.document("companies/a/leads/l1").on_snapshot(
        lambda docs, changes, read_time: seen.put([d.id for d in docs])
    )
    assert ["l1"] == seen.get(timeout=10)
    watch.unsubscribe()
    database = f"projects/{project_id}/databases/(default)"
    target = pb.Target(
        target_id=1, documents={"documents": [f"{database}/documents/companies/b/leads/l1"]}
    )
    token = mock_id_token(project_id, "a-user", company_id="a", role="user")
    request = pb.ListenRequest(database=database, add_target=target)
    channel, responses = _raw(
        rules_server.address, token, "Listen", iter([request]), pb.ListenResponse, True
    )
    first = next(responses)
    channel.close()
    assert (pb.TargetChangeType.REMOVE, code_pb2.PERMISSION_DENIED) == (
        first.target_change.target_change_type,
        first.target_change.cause.code,
    )


def test_batch_write_refuses_write_by_write(
    rules_db: Any, rules_server: FirestoreServer, project_id: str
) -> None:
    """BatchWrite is not atomic: each write gets its own status."""
    seed(rules_db)
    root = f"projects/{project_id}/databases/(default)/documents"

    def update(company: str) -> Any:
        fields = {"status": "lost", "updated_by": "a-user"}
        document = pb.Document(
            name=f"{root}/companies/{company}/leads/l1",
            fields={k: pb.Value(string_value=v) for k, v in fields.items()},
        )
        stamp = pb.DocumentTransform.FieldTransform(
            field_path="updated_at",
            set_to_server_value=pb.DocumentTransform.FieldTransform.ServerValue.REQUEST_TIME,
        )
        return pb.Write(
            update=document,
            update_mask=pb.DocumentMask(field_paths=list(fields)),
            update_transforms=[stamp],
        )

    request = pb.BatchWriteRequest(
        database=root.rsplit("/", 1)[0], writes=[update("a"), update("b")]
    )
    token = mock_id_token(project_id, "a-user", company_id="a", role="user")
    channel, response = _raw(
        rules_server.address, token, "BatchWrite", request, pb.BatchWriteResponse, False
    )
    channel.close()
    assert [code_pb2.OK, code_pb2.PERMISSION_DENIED] == [s.code for s in response.status]
    assert ["lost", "new"] == [
        rules_db.document(f"companies/{c}/leads/l1").get().get("status") for c in "ab"
    ]
