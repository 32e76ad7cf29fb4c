"""Calling a company's webhooks: one JSON POST with a timeout.

Timeouts, connection failures, 429 and 5xx are worth retrying (``Transient``); any other
non-2xx answer is the receiver refusing the call for good (``InvalidInput``). Each call
carries an ``Idempotency-Key`` so a receiver can fold the retries of one step.
"""

from __future__ import annotations

import logging
from typing import Any

from shared.errors import InvalidInput, Transient

log = logging.getLogger("growthkit.webhooks")


class HttpWebhooks:
    """Implements ``shared.services.workflows_steps.Webhooks`` with ``requests``."""

    def post(
        self, url: str, payload: dict[str, Any], *, timeout: float, idempotency_key: str
    ) -> int:
        import requests

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
