"""All configuration in one fail-fast ``Settings`` object, read from the environment.

Each field comes from ``GROWTHKIT_<FIELD>`` (any case) or, for a field with aliases, from
the first alias set (``GOOGLE_CLOUD_PROJECT``...), as pydantic-settings would read them;
plain pydantic does the reading because importing pydantic-settings alone added about
20 ms to every function's cold start.
"""

import functools
import os
from collections.abc import Iterable, Mapping
from typing import Literal, Self

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, SecretStr, model_validator

from shared.queues import TASKS_QUEUE

_LOCAL_SIGNING_KEY = "local-development-signing-key-not-secret"
# 32 bytes, base64url: encrypts secrets at rest when nothing else is configured (tests;
# `make serve` generates its own key file). shared.adapters.crypto refuses it in production.
_LOCAL_SECRETS_KEY = "bG9jYWwtZGV2ZWxvcG1lbnQta2V5LW5vdC1zZWNyZXQ="


ENV_PREFIX = "GROWTHKIT_"
# Platforms whose OAuth tokens are renewed with a refresh-token grant (``oauth_<platform>_*``).
OAUTH_PLATFORMS = ("linkedin", "twitter")
# The publishing platforms' API base URLs (each overridable, https in production).
PLATFORM_URLS = ("linkedin_api_url", "x_api_url", "facebook_graph_url")


class Settings(BaseModel):
    # Deferred like every model (shared.domain.common.DeferredModel): built by the first
    # get_settings(), which is on the first request, not at import.
    model_config = ConfigDict(
        extra="ignore",
        frozen=True,
        validate_by_name=True,
        validate_by_alias=True,
        defer_build=True,
    )

    environment: Literal["local", "production"] = "local"
    project_id: str = Field(
        "demo-growthkit",
        validation_alias=AliasChoices(
            "GOOGLE_CLOUD_PROJECT", "GCLOUD_PROJECT", "GROWTHKIT_PROJECT_ID"
        ),
    )
    region: str = Field(
        "us-central1", validation_alias=AliasChoices("FUNCTION_REGION", "GROWTHKIT_REGION")
    )
    # Where Cloud Tasks and links in messages reach the functions.
    functions_base_url: str = "http://127.0.0.1:8080"
    tasks_queue: str = TASKS_QUEUE.name
    task_service_account: str | None = None
    mail_backend: Literal["outbox", "smtp"] = "outbox"
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_sender: str = "no-reply@growthkit.local"
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    # SMS: the outbox, or a provider's HTTP API (a Twilio-like form POST, basic auth with
    # the account and token; the token also verifies inbound-message signatures).
    sms_backend: Literal["outbox", "http"] = "outbox"
    sms_api_url: str = ""
    sms_from: str = ""
    sms_account: str = ""
    sms_auth_token: SecretStr | None = None
    sms_timeout_seconds: float = Field(default=10.0, gt=0, le=60)
    # Authenticates the e-mail provider's event webhook (email_events): requests carry
    # X-GrowthKit-Signature: sha256=<hex HMAC-SHA256 of the body under this secret>. Unset,
    # the webhook accepts unsigned events locally and refuses every event in production.
    email_events_secret: SecretStr | None = None
    # Signs unsubscribe and confirmation links.
    signing_key: SecretStr = SecretStr(_LOCAL_SIGNING_KEY)
    # Encrypts secrets and tokens at rest (AES-256-GCM): 32 bytes, base64url. Previous keys
    # (comma-separated) still decrypt what they sealed, so the key can be rotated.
    secrets_key: SecretStr = SecretStr(_LOCAL_SECRETS_KEY)
    secrets_previous_keys: SecretStr = SecretStr("")
    # Renewing social platforms' OAuth tokens (shared.adapters.token_refresher): "local"
    # issues fake tokens, "oauth" asks each platform's token endpoint; unset, production
    # uses "oauth" and everything else "local". A platform is configured once its client
    # id and secret are set; the token URLs default to the platforms' standard endpoints.
    token_refresher: Literal["local", "oauth"] | None = None
    oauth_linkedin_token_url: str = "https://www.linkedin.com/oauth/v2/accessToken"
    oauth_linkedin_client_id: str = ""
    oauth_linkedin_client_secret: SecretStr | None = None
    oauth_linkedin_client_auth: Literal["basic", "body"] = "body"
    oauth_twitter_token_url: str = "https://api.x.com/2/oauth2/token"
    oauth_twitter_client_id: str = ""
    oauth_twitter_client_secret: SecretStr | None = None
    oauth_twitter_client_auth: Literal["basic", "body"] = "basic"
    oauth_timeout_seconds: float = Field(default=10.0, gt=0, le=60)
    # Publishing (shared.adapters.publishers): the platforms' API base URLs. Setting any
    # of them sends posts to the platforms even locally (`make serve` points them at
    # localcloud's stand-ins); with none set, a local instance records posts in Firestore
    # instead (the local publisher). WordPress and webhooks use each connection's URL.
    linkedin_api_url: str = "https://api.linkedin.com"
    # The Posts API version (LinkedIn-Version, YYYYMM); LinkedIn serves each for a year.
    linkedin_version: str = Field(default="202609", pattern=r"^20[0-9]{4}$")
    x_api_url: str = "https://api.x.com"
    # The Graph API version is part of the URL: Meta serves each for about two years.
    facebook_graph_url: str = "https://graph.facebook.com/v23.0"
    # How long one call to a platform may take; past it a post is looked up, not resent.
    publish_timeout_seconds: float = Field(default=15.0, gt=0, le=60)
    # Tests point firebase-admin's certificate lookup at a local server.
    id_token_cert_url: str | None = None
    # Look each staff caller's account up (one Firebase Auth call per request) so that a
    # removed, demoted or disabled member's ID token stops working at once rather than
    # when it expires. None: on in production (and under `make serve`), off otherwise.
    check_revoked_tokens: bool | None = None
    max_body_bytes: int = 64 * 1024
    # Proxies in front of the functions that each append the address they took the
    # connection from to X-Forwarded-For: the client's address is the one the outermost of
    # them appended, counted from the right (whatever is left of it, the caller wrote).
    # 1 suits Cloud Functions (2nd gen) and Cloud Run, where only Google's front end
    # appends; 2 behind an external HTTPS load balancer (it appends its own address too);
    # 0 trusts the header not at all (nothing in front: the connection's peer is the client).
    trusted_proxies: int = Field(default=1, ge=0, le=10)
    # Lets workflow webhooks call this machine (127.0.0.0/8, ::1, localhost): for local
    # receivers in tests and development. Never in production (refused below); private
    # and link-local addresses are refused everywhere.
    webhooks_allow_loopback: bool = False

    @model_validator(mode="after")
    def _no_local_secrets_in_production(self) -> Self:
        if self.environment == "production":
            if self.signing_key.get_secret_value() == _LOCAL_SIGNING_KEY:
                raise ValueError("GROWTHKIT_SIGNING_KEY must be set in production")
            if self.functions_base_url.startswith("http://127."):
                raise ValueError("GROWTHKIT_FUNCTIONS_BASE_URL must be set in production")
            if self.sms_backend == "http" and self.sms_auth_token is None:
                raise ValueError("GROWTHKIT_SMS_AUTH_TOKEN must be set for SMS in production")
            if self.webhooks_allow_loopback:
                raise ValueError("GROWTHKIT_WEBHOOKS_ALLOW_LOOPBACK is refused in production")
            if self.token_refresher == "local":
                raise ValueError("GROWTHKIT_TOKEN_REFRESHER=local hands out fake tokens")
            for platform in OAUTH_PLATFORMS:
                if not getattr(self, f"oauth_{platform}_token_url").startswith("https://"):
                    name = f"GROWTHKIT_OAUTH_{platform.upper()}_TOKEN_URL"
                    raise ValueError(f"{name} must be an https:// URL in production")
            for field in PLATFORM_URLS:
                if not getattr(self, field).startswith("https://"):
                    raise ValueError(f"GROWTHKIT_{field.upper()} must be an https:// URL")
        return self

    @property
    def platform_urls_set(self) -> bool:
        """Whether any platform base URL was configured (rather than left default)."""
        return any(field in self.model_fields_set for field in PLATFORM_URLS)

    @property
    def revocation_checked(self) -> bool:
        if self.check_revoked_tokens is None:
            return self.environment == "production"
        return self.check_revoked_tokens

    @property
    def queue_path(self) -> str:
        return f"projects/{self.project_id}/locations/{self.region}/queues/{self.tasks_queue}"


class MissingSecret(RuntimeError):
    """A production function started without a secret it needs (``missing_secrets``)."""


def missing_secrets(names: Iterable[str], environ: Mapping[str, str] | None = None) -> list[str]:
    """Those of the variables ``names`` that are unset or blank, in production; none
    elsewhere (locally a function works without what nobody configured). Read straight
    from the environment, as ``from_environment`` would, without building Settings: this
    runs when a function loads."""
    env = {k.upper(): v for k, v in (os.environ if environ is None else environ).items()}
    # Stricter than Settings, which refuses any other spelling of "production" anyway.
    if env.get(ENV_PREFIX + "ENVIRONMENT", "").strip().lower() != "production":
        return []
    return [name for name in names if not env.get(name.upper(), "").strip()]


def from_environment(environ: Mapping[str, str] | None = None) -> Settings:
    """Settings from ``environ`` (default: this process's environment)."""
    env = {k.upper(): v for k, v in (os.environ if environ is None else environ).items()}
    values: dict[str, str] = {}
    for name, field in Settings.model_fields.items():
        alias = field.validation_alias
        names = alias.choices if isinstance(alias, AliasChoices) else [ENV_PREFIX + name]
        found = [env[n.upper()] for n in names if isinstance(n, str) and n.upper() in env]
        if found:
            values[name] = found[0]
    return Settings.model_validate(values)


@functools.cache
def get_settings() -> Settings:
    return from_environment()
