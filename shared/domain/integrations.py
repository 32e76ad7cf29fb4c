"""Integrations with other tools (CRM, e-mail provider, social, calendar) and the social
accounts a company connects, with their OAuth tokens.

Credentials and tokens are written as ``SecretStr`` and stored sealed
(``shared.domain.secrets``); what reads back is whether they are set, their names and
expiry, never a value. One connection per company and platform: the platform is its id.
A connection whose token cannot be refreshed is marked ``expired``, one a platform
refused while publishing ``reconnect``, each with the reason, so staff see it must be
reconnected; sending new tokens (PATCH) reconnects it.
"""

from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any, Literal

from msgspec import Struct
from pydantic import ConfigDict, Field, SecretStr, computed_field, field_validator

from shared.domain.common import ShortText, StoredModel
from shared.domain.edits import EditModel
from shared.domain.secrets import SecretValue, is_sealed

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


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        raise ValueError("needs a time zone (e.g. 2026-03-03T14:00:00Z)")
    return value.astimezone(UTC) if value is not None else None


class ConnectionFields(EditModel):
    platform: SocialPlatform = SocialPlatform.TWITTER  # create only: the id
    platform_user_id: str = Field(default="", min_length=1, max_length=200)
    username: ShortText | None = None
    access_token: SecretValue = SecretStr("x")  # required on create
    refresh_token: SecretValue | None = None
    expires_at: datetime | None = None
    scopes: list[Annotated[str, Field(max_length=200)]] = Field(default=[], max_length=30)

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
    status: IntegrationStatus = IntegrationStatus.ACTIVE
    last_refreshed_at: datetime | None = None
    error_message: str | None = None
    expired_at: datetime | None = None
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


class RefresherMisconfigured(Exception):
    """The provider refused our OAuth client itself (wrong client id or secret, a client
    not allowed the grant, a wrong token URL): a mistake of the deployment, not of the
    connection, so the connection is left as it is and the run fails loudly."""


def connection_path(company_id: str, platform: str) -> str:
    return f"companies/{company_id}/social_connections/{platform}"


def connection_of(platform: str) -> str:
    """The connection a content platform name posts through (``x`` is ``twitter``)."""
    return "twitter" if platform == "x" else platform
