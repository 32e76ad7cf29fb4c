"""The webhook adapter against a real local HTTP server: what is retried, what is final."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from localcloud.tasks.testing import Receiver
from shared.adapters.webhooks import HttpWebhooks
from shared.errors import InvalidInput, Transient


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A real HTTP server on a free port that records requests and answers by script."""
    server = Receiver()
    yield server
    server.close()


def test_a_post_carries_the_payload_and_the_idempotency_key(receiver: Receiver) -> None:
    """JSON body, Idempotency-Key header; a 2xx is the status returned."""
    status = HttpWebhooks(allow_internal=True).post(
        receiver.url("/hook"), {"lead": {"id": "l1"}}, timeout=5, idempotency_key="k1"
    )
    (hit,) = receiver.hits("/hook")
    assert (200, "POST", "k1", {"lead": {"id": "l1"}}) == (
        status,
        hit.method,
        hit.headers["idempotency-key"],
        json.loads(hit.body),
    )


@pytest.mark.parametrize(
    ("status", "error"), [(503, Transient), (429, Transient), (404, InvalidInput)]
)
def test_server_errors_and_throttling_are_transient_refusals_final(
    receiver: Receiver, status: int, error: type[Exception]
) -> None:
    """5xx and 429 are worth retrying; any other non-2xx is the receiver's final answer."""
    receiver.script("/hook", status)
    with pytest.raises(error, match=str(status)):
        HttpWebhooks(allow_internal=True).post(
            receiver.url("/hook"), {}, timeout=5, idempotency_key="k"
        )


def test_a_slow_receiver_times_out_transiently(receiver: Receiver) -> None:
    """The step's timeout bounds the call; a timeout is retried later."""
    receiver.slow("/slow", 1.0)
    with pytest.raises(Transient, match="timed out"):
        HttpWebhooks(allow_internal=True).post(
            receiver.url("/slow"), {}, timeout=0.2, idempotency_key="k"
        )


def test_nobody_listening_is_transient() -> None:
    """A refused connection is retried (the receiver may be restarting)."""
    from tests.integration.test_messaging import free_port

    with pytest.raises(Transient, match="unreachable"):
        HttpWebhooks(allow_internal=True).post(
            f"http://127.0.0.1:{free_port()}/x", {}, timeout=1, idempotency_key="k"
        )


@pytest.mark.parametrize(
    "url", ["http://169.254.169.254/computeMetadata/v1/", "http://10.0.0.7/", "http://[::1]/"]
)
def test_internal_hosts_are_refused_unless_allowed(url: str) -> None:
    """In production (internal hosts not allowed) link-local, private and loopback
    addresses are refused as the step's error, not retried."""
    with pytest.raises(InvalidInput, match="not a public address"):
        HttpWebhooks().post(url, {}, timeout=1, idempotency_key="k")


def test_a_refused_host_is_never_called(receiver: Receiver) -> None:
    """The check happens before the request: the local receiver sees nothing."""
    with pytest.raises(InvalidInput):
        HttpWebhooks().post(receiver.url("/x"), {}, timeout=1, idempotency_key="k")
    assert [] == receiver.hits("/x")
