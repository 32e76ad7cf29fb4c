"""Calling a company's webhooks: one JSON POST with a timeout.

Timeouts, connection failures, 429 and 5xx are worth retrying (``Transient``); any other
non-2xx answer is the receiver refusing the call for good (``InvalidInput``). Each call
carries an ``Idempotency-Key`` so a receiver can fold the retries of one step.

URLs are typed by staff, so in production a host resolving to a private, loopback or
link-local address (the metadata server, the VPC) is refused: a webhook must not become a
way to reach inside. Locally those are allowed, for receivers on localhost.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
from typing import Any
from urllib.parse import urlsplit

from shared.errors import InvalidInput, Transient

log = logging.getLogger("growthkit.webhooks")


def _internal(host: str) -> bool:
    """Whether any address ``host`` resolves to is not a public one."""
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError as err:
        raise Transient(f"Webhook host {host} does not resolve: {err}") from err
    addresses = {ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos}
    return any(not a.is_global or a.is_multicast for a in addresses)


class HttpWebhooks:
    """Implements ``shared.services.workflows_context.Webhooks`` with ``requests``."""

    def __init__(self, allow_internal: bool = False) -> None:
        self.allow_internal = allow_internal

    def post(
        self, url: str, payload: dict[str, Any], *, timeout: float, idempotency_key: str
    ) -> int:
        import requests

        host = urlsplit(url).hostname or ""
        if not self.allow_internal and _internal(host):
            raise InvalidInput(f"Webhook host {host} is not a public address.")

        headers = {"Idempotency-Key": idempotency_key, "User-Agent": "growthkit-workflows"}
        try:
            response = requests.post(
                url, json=payload, headers=headers, timeout=timeout, allow_redirects=False
            )
        except requests.Timeout as err:
            raise Transient(f"Webhook {url} timed out after {timeout}s.") from err
        except requests.RequestException as err:
            raise Transient(f"Webhook {url} unreachable: {err}") from err
        status = response.status_code
        if status == 429 or status >= 500:
            raise Transient(f"Webhook {url} answered {status}.")
        if not 200 <= status < 300:
            raise InvalidInput(f"Webhook {url} refused the call with {status}.")
        log.info("webhook %s answered %d", url, status)
        return status
