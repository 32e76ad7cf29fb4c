"""The webhook adapter against real local HTTP(S) servers: what is retried, what is
final, and that it connects only to an address it checked (names resolved by a table
here, so that a name can lead to a local server)."""

from __future__ import annotations

import datetime as dt
import json
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from localcloud.tasks.testing import Receiver
from shared.adapters.webhooks import REFUSED, HttpWebhooks
from shared.errors import InvalidInput, Transient, Unconfirmed


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A real HTTP server on a free port that records requests and answers by script."""
    server = Receiver()
    yield server
    server.close()


def test_a_post_carries_the_payload_and_the_idempotency_key(receiver: Receiver) -> None:
    """JSON body, Idempotency-Key header; a 2xx is the status returned."""
    status = HttpWebhooks(allow_loopback=True).post(
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
        HttpWebhooks(allow_loopback=True).post(
            receiver.url("/hook"), {}, timeout=5, idempotency_key="k"
        )


def test_a_slow_receiver_times_out_transiently(receiver: Receiver) -> None:
    """The step's timeout bounds the call; a timeout is retried later."""
    receiver.slow("/slow", 1.0)
    with pytest.raises(Transient, match="timed out"):
        HttpWebhooks(allow_loopback=True).post(
            receiver.url("/slow"), {}, timeout=0.2, idempotency_key="k"
        )


def test_a_call_sent_and_not_answered_is_unconfirmed_one_never_sent_is_not(
    receiver: Receiver,
) -> None:
    """A timeout after the request went out may have acted (Unconfirmed, which is still
    Transient for workflows); a refused connection did not."""
    from tests.integration.test_messaging import free_port

    receiver.slow("/slow", 1.0)
    pinned = HttpWebhooks(allow_loopback=True)
    with pytest.raises(Unconfirmed, match="timed out"):
        pinned.request("POST", receiver.url("/slow"), body=b"{}", headers={}, timeout=0.2)
    with pytest.raises(Transient) as never_sent:
        pinned.request("POST", f"http://127.0.0.1:{free_port()}/", headers={}, timeout=1)
    assert not isinstance(never_sent.value, Unconfirmed)


def test_request_answers_status_headers_and_body_up_to_a_size(platforms: Any) -> None:
    """Any method and headers; the answer's status, headers (lower-case names) and body,
    refused past ``max_bytes``."""
    platforms.grant("x", "t0ken", subject="2244994945", username="acme")
    url, auth = platforms.base_url("x") + "/2/users/me", {"Authorization": "Bearer t0ken"}
    pinned = HttpWebhooks(allow_loopback=True)
    answer = pinned.request("GET", url, headers=auth, timeout=5, max_bytes=4096)
    assert (200, "acme") == (answer.status, json.loads(answer.body)["data"]["username"])
    assert answer.headers["x-rate-limit-remaining"].isdigit()
    with pytest.raises(InvalidInput, match="over 10 bytes"):
        pinned.request("GET", url, headers=auth, timeout=5, max_bytes=10)


def test_nobody_listening_is_transient() -> None:
    """A refused connection is retried (the receiver may be restarting)."""
    from tests.integration.test_messaging import free_port

    with pytest.raises(Transient, match="could not be reached"):
        HttpWebhooks(allow_loopback=True).post(
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


class Names:
    """A resolver answering from its table and keeping the names it was asked."""

    def __init__(self, table: dict[str, list[str]]) -> None:
        self.table, self.asked = table, list[str]()

    def __call__(self, host: str, port: int) -> list[str]:
        self.asked.append(host)
        return self.table.get(host, [])


@pytest.mark.parametrize(
    "answers", [["127.0.0.1"], ["8.8.8.8", "127.0.0.1"], ["10.1.2.3"], ["::ffff:127.0.0.1"], []]
)
def test_a_name_resolving_inside_or_nowhere_is_refused_alike(
    receiver: Receiver, answers: list[str]
) -> None:
    """Every address a name resolves to must be public: one inside is enough to refuse
    it, before any connection; a name resolving nowhere reads the same."""
    port = receiver.url("").rsplit(":", 1)[1]
    hooks = HttpWebhooks(resolve=Names({"hooks.example.com": answers}))
    with pytest.raises(InvalidInput) as refused:
        hooks.post(f"http://hooks.example.com:{port}/x", {}, timeout=1, idempotency_key="k")
    assert (REFUSED, []) == (refused.value.message, receiver.hits())


def test_the_connection_goes_to_the_address_checked_with_the_host_kept(
    receiver: Receiver,
) -> None:
    """The name is resolved once, and the request reaches that address with the URL's
    host in ``Host`` (loopback allowed here, as in tests)."""
    resolve = Names({"hooks.example.com": ["127.0.0.1"]})
    port = receiver.url("").rsplit(":", 1)[1]
    status = HttpWebhooks(allow_loopback=True, resolve=resolve).post(
        f"http://hooks.example.com:{port}/x?a=1", {"n": 1}, timeout=5, idempotency_key="k"
    )
    (hit,) = receiver.hits()
    assert (200, ["hooks.example.com"], f"hooks.example.com:{port}", "/x?a=1") == (
        status,
        resolve.asked,
        hit.headers["host"],
        hit.path,
    )


class Redirecting:
    """An HTTP server answering every request with a redirect to ``location``."""

    def __init__(self, location: str) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server API
                self.send_response(307)
                self.send_header("Location", location)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_a_redirect_is_not_followed(receiver: Receiver) -> None:
    """A receiver answering 307 to an internal URL: the step fails for good with what
    happened, and the internal server gets nothing."""
    redirecting = Redirecting(receiver.url("/internal"))
    try:
        with pytest.raises(InvalidInput, match="redirects are not followed"):
            HttpWebhooks(allow_loopback=True).post(
                redirecting.url, {}, timeout=5, idempotency_key="k"
            )
    finally:
        redirecting.close()
    assert [] == receiver.hits()


def _certificate(name: str, directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for ``name`` (its own authority) and its key, as files."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@pytest.fixture
def tls_receiver(tmp_path: Path) -> Iterator[tuple[int, Path, list[str | None]]]:
    """An HTTPS server on 127.0.0.1 with a certificate for hooks.example.com: its port,
    the certificate (to trust) and the server names clients sent (SNI)."""
    cert, key = _certificate("hooks.example.com", tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    sent: list[str | None] = []

    def record(_sock: Any, name: str | None, _context: Any) -> None:
        sent.append(name)

    context.sni_callback = record

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server API
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    yield server.server_address[1], cert, sent
    server.shutdown()
    server.server_close()


def test_https_to_the_checked_address_sends_and_verifies_the_host_name(
    tls_receiver: tuple[int, Path, list[str | None]],
) -> None:
    """Connected by address, the TLS handshake still names the URL's host (SNI) and the
    certificate is checked against it: a certificate for another name is refused."""
    port, cert, sent = tls_receiver
    table = {"hooks.example.com": ["127.0.0.1"], "other.example.com": ["127.0.0.1"]}
    hooks = HttpWebhooks(allow_loopback=True, resolve=Names(table), ca_certs=str(cert))
    status = hooks.post(f"https://hooks.example.com:{port}/x", {}, timeout=5, idempotency_key="k")
    with pytest.raises(Transient, match="could not be reached"):
        hooks.post(f"https://other.example.com:{port}/x", {}, timeout=5, idempotency_key="k")
    assert (204, "hooks.example.com") == (status, sent[0])
