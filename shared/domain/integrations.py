"""Integrations with other tools (CRM, e-mail provider, social, calendar) and the social
accounts a company connects, with their OAuth tokens.

Credentials and tokens are written as ``SecretStr`` and stored sealed
(``shared.domain.secrets``); what reads back is whether they are set, their names and
expiry, never a value. A connection's id is its platform (``linkedin``), or the platform
and a label for a second account (``wordpress-shop``): content names platforms by these
ids. A connection's ``status`` says whether it works: ``active``; ``reconnect`` when a
platform refused it (its refresh token, or a post); ``expired`` when its token's time ran
out with nothing to renew it (Facebook's long-lived tokens, a token without a refresh
token). Each change says why (``error_message``) and when (``status_changed_at``), so
staff see what to reconnect; sending new credentials (PATCH), or connecting again by
OAuth, makes it active.

What publishing needs of each platform (``connection_check`` refuses a connection
without it): LinkedIn, a token (posting as ``author_urn``, by default the member
``urn:li:person:{platform_user_id}``); X, a user token and the user's id; a Facebook Page,
the Page token and ``page_id`` (default: ``platform_user_id``); Instagram, a token and
``ig_user_id`` (default: ``platform_user_id``); WordPress, ``site_url``, ``username`` and an
application password (``app_password``); a webhook (Zapier, Make, n8n), ``webhook_url`` and
``webhook_secret``, with which each delivery is signed.
"""

from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any, Literal

from msgspec import Struct
from pydantic import ConfigDict, Field, computed_field, field_validator

from shared.domain.common import ShortText, StoredModel
from shared.domain.secrets import SecretValue, is_sealed
from shared.domain.url_safety import UnsafeUrl, parse_target
from shared.staff_api.domain.edits import EditModel

# Refresh tokens this long before they expire: a run every 15 minutes gets two tries.
REFRESH_AHEAD = timedelta(minutes=30)
ConfigValue = str | int | float | bool | None
ConfigKey = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]


class IntegrationType(StrEnum):
    CRM = "crm"
    EMAIL_PROVIDER = "email_provider"
    SOCIAL = "social"
    CALENDAR = "calendar"


class IntegrationStatus(StrEnum):
    ACTIVE = "active"
    INACTIVE = "inactive"
    ERROR = "error"
    EXPIRED = "expired"
    RECONNECT = "reconnect"  # a platform refused the token while publishing


class SyncFrequency(StrEnum):
    MANUAL = "manual"
    HOURLY = "hourly"
    DAILY = "daily"
    WEEKLY = "weekly"


class IntegrationFields(EditModel):
    type: IntegrationType = IntegrationType.CRM
    provider: str = Field(default="", min_length=1, max_length=100)
    display_name: str = Field(default="", min_length=1, max_length=200)
    # Settings that are not secret (an account id, a list name); secrets go in credentials.
    configuration: dict[ConfigKey, ConfigValue] = Field(default={}, max_length=30)
    credentials: dict[ConfigKey, SecretValue] | None = Field(default=None, max_length=10)
    # Staff switch an integration on and off; error and expired are set by the system.
    status: Literal[IntegrationStatus.ACTIVE, IntegrationStatus.INACTIVE] = IntegrationStatus.ACTIVE
    sync_frequency: SyncFrequency = SyncFrequency.DAILY


class Integration(StoredModel):
    model_config = ConfigDict(extra="ignore")

    id: str
    company_id: str
    type: IntegrationType
    provider: str
    display_name: str
    configuration: dict[str, Any] = {}
    credentials: dict[str, Any] | None = Field(default=None, exclude=True)
    credential_names: list[str] = []
    status: IntegrationStatus = IntegrationStatus.ACTIVE
    sync_frequency: SyncFrequency = SyncFrequency.DAILY
    last_sync_at: datetime | None = None
    error_message: str | None = None
    created_by: str | None = None
    updated_by: str | None = None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def has_credentials(self) -> bool:
        return is_sealed(self.credentials)


class SocialPlatform(StrEnum):
    TWITTER = "twitter"
    FACEBOOK = "facebook"
    INSTAGRAM = "instagram"
    LINKEDIN = "linkedin"
    WORDPRESS = "wordpress"
    WEBHOOK = "webhook"


# The sealed fields of a connection; sending any of them reconnects it.
CONNECTION_SECRETS = ("access_token", "refresh_token", "app_password", "webhook_secret")
Url = Annotated[str, Field(max_length=2000)]


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        raise ValueError("needs a time zone (e.g. 2026-03-03T14:00:00Z)")
    return value.astimezone(UTC) if value is not None else None


class ConnectionFields(EditModel):
    platform: SocialPlatform = SocialPlatform.TWITTER  # create only: the id
    # Create only: a second account of a platform is ``{platform}-{label}``.
    label: str | None = Field(default=None, pattern=r"^[a-z0-9]{1,20}$")
    platform_user_id: str = Field(default="", min_length=1, max_length=200)
    username: ShortText | None = None  # WordPress: the user the password belongs to
    access_token: SecretValue | None = None  # required on create, but for WordPress, hooks
    refresh_token: SecretValue | None = None
    expires_at: datetime | None = None
    scopes: list[Annotated[str, Field(max_length=200)]] = Field(default=[], max_length=30)
    author_urn: str | None = Field(
        default=None, pattern=r"^urn:li:(person|organization):[A-Za-z0-9_-]{1,100}$"
    )
    page_id: str | None = Field(default=None, pattern=r"^[0-9]{1,40}$")
    ig_user_id: str | None = Field(default=None, pattern=r"^[0-9]{1,40}$")
    site_url: Url | None = None
    app_password: SecretValue | None = None
    webhook_url: Url | None = None
    webhook_secret: SecretValue | None = None

    _aware = field_validator("expires_at")(classmethod(lambda cls, v: _aware(v)))


class SocialConnection(StoredModel):
    model_config = ConfigDict(extra="ignore")

    id: str
    company_id: str
    platform: SocialPlatform
    platform_user_id: str
    username: str | None = None
    access_token: dict[str, Any] | None = Field(default=None, exclude=True)
    refresh_token: dict[str, Any] | None = Field(default=None, exclude=True)
    expires_at: datetime | None = None
    scopes: list[str] = []
    label: str | None = None
    author_urn: str | None = None
    page_id: str | None = None
    ig_user_id: str | None = None
    site_url: str | None = None
    app_password: dict[str, Any] | None = Field(default=None, exclude=True)
    webhook_url: str | None = None
    webhook_secret: dict[str, Any] | None = Field(default=None, exclude=True)
    status: IntegrationStatus = IntegrationStatus.ACTIVE
    last_refreshed_at: datetime | None = None
    error_message: str | None = None
    expired_at: datetime | None = None
    status_changed_at: datetime | None = None
    created_by: str | None = None
    updated_by: str | None = None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def has_access_token(self) -> bool:
        return is_sealed(self.access_token)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def has_refresh_token(self) -> bool:
        return is_sealed(self.refresh_token)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def has_app_password(self) -> bool:
        return is_sealed(self.app_password)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def has_webhook_secret(self) -> bool:
        return is_sealed(self.webhook_secret)


class RefreshedToken(Struct, frozen=True):
    """What a provider gives back for a refresh token (kept out of ``repr``, so a log
    line printing it shows no token)."""

    access_token: str
    expires_at: datetime | None = None
    refresh_token: str | None = None  # some providers rotate it

    def __repr__(self) -> str:
        rotated = self.refresh_token is not None
        return f"RefreshedToken(expires_at={self.expires_at!r}, rotated={rotated})"


class RefreshFailed(Exception):
    """The provider refused the refresh for good (revoked, invalid grant): reconnect."""


class NotRenewable(Exception):
    """Nothing can renew this token (the platform has no refresh grant, or there is no
    refresh token): it works until it expires, and then the connection is expired."""


class RefresherMisconfigured(Exception):
    """The provider refused our OAuth client itself (wrong client id or secret, a client
    not allowed the grant, a wrong token URL): a mistake of the deployment, not of the
    connection, so the connection is left as it is and the run fails loudly."""


def connection_path(company_id: str, platform: str) -> str:
    return f"companies/{company_id}/social_connections/{platform}"


def connection_id(data: dict[str, Any]) -> str:
    """A new connection's id: its platform, and its label for a second account."""
    platform = SocialPlatform(data["platform"]).value
    return f"{platform}-{data['label']}" if data.get("label") else platform


def connection_of(platform: str) -> str:
    """The connection a content platform name posts through (``x`` is ``twitter``)."""
    return "twitter" if platform == "x" else platform


def connection_check(data: dict[str, Any], *, allow_loopback: bool = False) -> None:
    """``ValueError`` naming what this connection lacks to publish, or why its URLs are
    refused (``allow_loopback``: local receivers, ``webhooks_allow_loopback``)."""
    platform = str(data.get("platform", ""))
    needed = {
        "wordpress": ("site_url", "username", "app_password"),
        "webhook": ("webhook_url", "webhook_secret"),
    }.get(platform, ("platform_user_id", "access_token"))
    missing = [name for name in needed if not data.get(name)]
    if missing:
        raise ValueError(f"a {platform} connection needs {', '.join(missing)}")
    for field in ("site_url", "webhook_url"):
        if data.get(field):
            _check_url(field, str(data[field]), platform, allow_loopback)


def _check_url(field: str, url: str, platform: str, allow_loopback: bool) -> None:
    try:
        target = parse_target(url, allow_loopback=allow_loopback)
    except UnsafeUrl as err:
        raise ValueError(f"{field}: {err}") from err
    # An application password goes with every call: only over TLS (WordPress itself
    # offers them on https sites only), but to local receivers in tests and development.
    if platform == "wordpress" and target.scheme != "https" and not allow_loopback:
        raise ValueError(f"{field}: use https:// (the application password is sent)")
