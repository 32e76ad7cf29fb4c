"""Calling a company's webhooks: one JSON POST with a timeout, to an address we checked.

URLs are typed by staff, so a call must not become a way inside (the metadata server,
the VPC, this machine). The URL is read once by ``shared.domain.url_safety`` (the rules
of the check on save), its host resolved once, and every address it resolves to must be
public; the TCP connection then goes to one of those very addresses, with the URL's host
kept in ``Host`` and, for https, in SNI and the certificate check. Nothing is resolved
twice (a second answer could point inside) and redirects are not followed (the call's
answer is its status). Loopback is allowed only with ``webhooks_allow_loopback``.

Errors stored on a step say what the URL is wrong with or that the call failed, never
which address a name resolved to or how a connection failed: an internal host refused
and a closed port read alike. The log has the details, for operators.

Timeouts, connection failures, 429 and 5xx are worth retrying (``Transient``); any other
non-2xx answer is the receiver refusing the call for good (``InvalidInput``). Each call
carries an ``Idempotency-Key`` so a receiver can fold the retries of one step. A call sent
and not answered (timed out, cut off) is ``Unconfirmed``, a ``Transient`` that may have
acted. ``request`` is the same pinned call for any method, headers and body, answering the
status, headers and body as they came (publishing calls the URLs of WordPress sites and
hooks staff connect through it).
"""

from __future__ import annotations

import ipaddress
import json
import logging
import socket
from collections.abc import Callable
from typing import Any

from msgspec import Struct

from shared.domain.url_safety import IPAddress, Target, UnsafeUrl, address_allowed, parse_target
from shared.errors import InvalidInput, Transient, Unconfirmed

log = logging.getLogger("growthkit.webhooks")

# The one text of every refusal made after reading the URL: a name resolving inside, a
# name resolving nowhere, an address refused are all alike to whoever reads the step.
REFUSED = "Webhook refused: its host must resolve to public addresses only."
UNREACHABLE = "Webhook could not be reached."
# Addresses of one name tried in turn when connecting fails (each within the timeout).
MAX_ADDRESSES_TRIED = 3
Resolver = Callable[[str, int], list[str]]


class Answer(Struct, frozen=True):
    """What a pinned call got back: header names in lower case; the body as read (up to
    the size asked for)."""

    status: int
    headers: dict[str, str]
    body: bytes = b""


def resolve_host(host: str, port: int) -> list[str]:
    """The addresses ``host`` resolves to, in the system's order of preference; an empty
    list when the name does not exist (``Transient`` when the lookup itself failed)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as err:
        if err.errno in (socket.EAI_NONAME, getattr(socket, "EAI_NODATA", socket.EAI_NONAME)):
            return []
        log.warning("webhook host %s: lookup failed: %s", host, err)
        raise Transient("Webhook host lookup failed; will retry.") from err
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class HttpWebhooks:
    """Implements ``shared.workflows.services.context.Webhooks`` with urllib3.

    ``resolve`` and ``ca_certs`` are for tests: a name served by a local receiver, a
    local certificate authority (default: certifi's bundle, as ``requests`` has)."""

    def __init__(
        self,
        allow_loopback: bool = False,
        resolve: Resolver = resolve_host,
        ca_certs: str | None = None,
    ) -> None:
        self.allow_loopback = allow_loopback
        self.resolve = resolve
        self.ca_certs = ca_certs

    def post(
        self, url: str, payload: dict[str, Any], *, timeout: float, idempotency_key: str
    ) -> int:
        headers = {
            "Content-Type": "application/json",
            "Idempotency-Key": idempotency_key,
            "User-Agent": "growthkit-workflows",
        }
        body = json.dumps(payload).encode()
        answer = self.request("POST", url, body=body, headers=headers, timeout=timeout)
        return _answer(_host_of(url), answer.status)

    def request(
        self,
        method: str,
        url: str,
        *,
        body: bytes = b"",
        headers: dict[str, str],
        timeout: float,
        max_bytes: int = 0,
    ) -> Answer:
        """One call to ``url`` at an address checked, reading up to ``max_bytes`` of the
        answer's body (``InvalidInput`` beyond them).

        Raises:
            InvalidInput: the URL or its host's addresses are refused; the answer is too
                large. Unconfirmed: sent, and no answer came. Transient: not sent.
        """
        try:
            target = parse_target(url, allow_loopback=self.allow_loopback)
        except UnsafeUrl as err:
            raise InvalidInput(f"Webhook URL refused: {err}.") from err
        addresses = self._addresses(target)
        sent = {**headers, "Host": target.authority}
        return self._call(target, addresses, method, body, sent, timeout, max_bytes)

    def _addresses(self, target: Target) -> list[IPAddress]:
        """Where to connect: the URL's address, or every address of its name, all checked."""
        if target.address is not None:
            return [target.address]
        answers = self.resolve(target.host, target.port)
        found = [ipaddress.ip_address(a.split("%")[0]) for a in answers]
        refused = [a for a in found if not address_allowed(a, allow_loopback=self.allow_loopback)]
        if not found or refused:
            log.warning("webhook host %s refused: resolves to %s", target.host, found)
            raise InvalidInput(REFUSED)
        return found

    def _call(
        self,
        target: Target,
        addresses: list[IPAddress],
        method: str,
        body: bytes,
        headers: dict[str, str],
        timeout: float,
        max_bytes: int,
    ) -> Answer:
        """Call the first address that takes the connection (the next ones are tried
        only when one refuses it or times out connecting, before anything was sent)."""
        from urllib3.exceptions import (
            ConnectTimeoutError,
            HTTPError,
            ProtocolError,
            ReadTimeoutError,
        )

        for address in addresses[:MAX_ADDRESSES_TRIED]:
            pool = self._pool(target, address, timeout)
            try:
                response = pool.urlopen(
                    method, target.path, body=body, headers=headers, redirect=False,
                    retries=False, assert_same_host=False, preload_content=False,
                )  # fmt: skip
                return _read(response, max_bytes)
            except ConnectTimeoutError as err:  # refused, or timed out (NewConnectionError too)
                log.warning("webhook %s at %s: cannot connect: %s", target.host, address, err)
            except ReadTimeoutError as err:
                raise Unconfirmed(f"Webhook timed out after {timeout:g}s.") from err
            except ProtocolError as err:  # the connection was cut once the call was out
                log.warning("webhook %s at %s cut off: %r", target.host, address, err)
                raise Unconfirmed(UNREACHABLE) from err
            except HTTPError as err:
                log.warning("webhook %s at %s failed: %r", target.host, address, err)
                raise Transient(UNREACHABLE) from err
            finally:
                pool.close()
        raise Transient(UNREACHABLE)

    def _pool(self, target: Target, address: IPAddress, timeout: float) -> Any:
        """A connection pool to ``address`` itself; for https, the URL's host is the
        name sent in SNI and the one the certificate must be for."""
        import urllib3

        limit = urllib3.Timeout(connect=timeout, read=timeout)
        if target.scheme == "http":
            return urllib3.HTTPConnectionPool(str(address), target.port, timeout=limit)
        import certifi

        return urllib3.HTTPSConnectionPool(
            str(address), target.port, timeout=limit, cert_reqs="CERT_REQUIRED",
            ca_certs=self.ca_certs or certifi.where(), server_hostname=target.host,
            assert_hostname=target.host,
        )  # fmt: skip


def _read(response: Any, max_bytes: int) -> Answer:
    """The answer, its body read up to ``max_bytes`` (none by default: for a webhook
    step the answer is its status)."""
    try:
        body = response.read(max_bytes + 1) if max_bytes else b""
    finally:
        response.close()
    if len(body) > max_bytes:
        raise InvalidInput(f"The answer is over {max_bytes} bytes.")
    headers = {k.lower(): v for k, v in response.headers.items()}
    return Answer(int(response.status), headers, body)


def _host_of(url: str) -> str:
    """The host of a URL already checked (for the log)."""
    return parse_target(url, allow_loopback=True).host


def _answer(host: str, status: int) -> int:
    """The status of a call that went through, or why it counts as failed."""
    if status == 429 or status >= 500:
        raise Transient(f"Webhook answered {status}; will retry.")
    if 300 <= status < 400:
        raise InvalidInput(f"Webhook answered a redirect ({status}); redirects are not followed.")
    if not 200 <= status < 300:
        raise InvalidInput(f"Webhook refused the call with {status}.")
    log.info("webhook %s answered %d", host, status)
    return status
