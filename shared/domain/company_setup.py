"""What setting up a company takes, checked before anything is written.

``growthkit company create`` (and ``make serve``'s demo company, later) validate the
operator's input here in one go: the company id, its name, its first admin's e-mail, the
sites allowed to post its forms, its time zone and postal address. The e-mail rule is
``shared.domain.common``'s ``Email`` and is used through ``AdminEmail`` only, so a change
of address validation there applies here unchanged.
"""

from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator, ConfigDict, Field, ValidationError

from shared.domain.common import DeferredModel, Email
from shared.domain.users import TimeZone
from shared.errors import InvalidInput

# The one place company set-up names its e-mail rule (see the module's docstring).
AdminEmail = Email
_ID_CHARACTERS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-")
_DEFAULT_PORTS = {"http": 80, "https": 443}
MAX_ORIGINS = 20
# What each field is called in messages, as the operator typed it.
LABELS = {
    "id": "company id",
    "name": "--name",
    "admin_email": "--admin-email",
    "origins": "--origin",
    "time_zone": "--timezone",
    "postal_address": "--postal-address",
}


def _company_id(value: str) -> str:
    """Lower-case letters, digits and hyphens: the id appears in form keys, URLs and task
    names, where anything else would need escaping."""
    ok = 2 <= len(value) <= 63 and set(value) <= _ID_CHARACTERS
    if not ok or value.startswith("-") or value.endswith("-"):
        raise ValueError("use 2 to 63 lower-case letters, digits or inner hyphens")
    return value


def check_company_id(value: str) -> str:
    """``value`` if a new company may take it as its id.

    Raises:
        InvalidInput: one line saying why not.
    """
    try:
        return _company_id(value)
    except ValueError as err:
        raise InvalidInput(f"{LABELS['id']} {value!r} is not valid: {err}") from err


def canonical_origin(value: str) -> str:
    """``scheme://host[:port]`` as browsers send it in ``Origin`` (lower case, no default
    port), so the stored origin matches what arrives.

    Raises:
        ValueError: not http(s), no host, a user, a path, query or fragment, a bad port.
    """
    if any(c.isspace() for c in value):
        raise ValueError("an origin has no spaces")
    parts = urlsplit(value)  # ValueError for a broken IPv6 bracket
    if parts.scheme.lower() not in _DEFAULT_PORTS or not parts.hostname:
        raise ValueError("give http:// or https:// and a host, e.g. https://www.acme.example")
    if parts.path or parts.query or parts.fragment or "?" in value or "#" in value:
        raise ValueError("an origin is scheme://host[:port], without a path (not even '/')")
    if "@" in parts.netloc:
        raise ValueError("an origin has no user name")
    scheme, port, host = parts.scheme.lower(), parts.port, parts.hostname.lower()
    host = f"[{host}]" if ":" in host else host
    shown = f":{port}" if port is not None and port != _DEFAULT_PORTS[scheme] else ""
    return f"{scheme}://{host}{shown}"


class CompanySetup(DeferredModel):
    """A new company and its first admin, as the operator gave them."""

    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    id: Annotated[str, AfterValidator(_company_id)]
    name: Annotated[str, Field(min_length=1, max_length=200)]
    admin_email: AdminEmail
    origins: Annotated[
        list[Annotated[str, AfterValidator(canonical_origin)]], Field(max_length=MAX_ORIGINS)
    ] = []
    time_zone: TimeZone = "UTC"
    postal_address: Annotated[str | None, Field(max_length=500)] = None


def company_setup(**given: object) -> CompanySetup:
    """``CompanySetup`` from the operator's values (names as its fields).

    Raises:
        InvalidInput: one line naming the first bad value and why.
    """
    try:
        return CompanySetup.model_validate(given)
    except ValidationError as err:
        raise InvalidInput(_first_problem(err, given)) from err


def _first_problem(err: ValidationError, given: dict[str, object]) -> str:
    problem = err.errors()[0]
    field = str(problem["loc"][0]) if problem["loc"] else "input"
    value = problem.get("input", given.get(field))
    reason = str(problem["msg"]).removeprefix("Value error, ")
    return f"{LABELS.get(field, field)} {value!r} is not valid: {reason}"
