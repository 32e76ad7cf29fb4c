"""Staff ID-token verification with firebase-admin against a local certificate server."""

from __future__ import annotations

from typing import Any

import pytest

from shared.adapters.auth import verify_bearer
from shared.domain.identity import Role
from shared.errors import Unauthenticated


def test_valid_token_gives_identity(staff_auth: Any) -> None:
    """A properly signed token yields the company and role claims."""
    identity = verify_bearer(staff_auth("acme", "admin")["Authorization"])
    assert ("acme", Role.ADMIN) == (identity.company_id, identity.role)


@pytest.mark.parametrize(
    "case", ["expired", "wrong-key", "wrong-audience", "unknown-kid", "no-claims", "missing"]
)
def test_bad_tokens_are_refused(
    case: str, staff_auth: Any, token_issuer: Any, project_id: str
) -> None:
    """Expired, forged, foreign and claim-less tokens are all refused."""
    from tests.idtokens import _key_and_cert

    tokens = {
        "expired": lambda: token_issuer.token(
            project_id, expires_in=-60, company_id="acme", role="admin"
        ),
        "wrong-key": lambda: token_issuer.token(
            project_id, key_pem=_key_and_cert()[0], company_id="acme", role="admin"
        ),
        "wrong-audience": lambda: token_issuer.token(
            "other-project", company_id="acme", role="admin"
        ),
        "unknown-kid": lambda: token_issuer.token(
            project_id, kid="nope", company_id="acme", role="admin"
        ),
        "no-claims": lambda: token_issuer.token(project_id),
        "missing": lambda: None,
    }
    token = tokens[case]()
    with pytest.raises(Unauthenticated):
        verify_bearer(f"Bearer {token}" if token else None)
