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
# Platforms with an OAuth client (``oauth_<platform>_*``): staff connect accounts through
# them (Instagram through Facebook's).
OAUTH_PLATFORMS = ("linkedin", "twitter", "facebook")
# Those whose tokens are renewed with a refresh-token grant.
REFRESH_PLATFORMS = ("linkedin", "twitter")
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

    environment: Literal["local", "production"] = Field(
        "local",
        description="`production` refuses the local defaults of secrets and URLs, checks "
        "staff tokens for revocation and refuses unsigned provider webhooks.",
    )
    project_id: str = Field(
        "demo-growthkit",
        validation_alias=AliasChoices(
            "GOOGLE_CLOUD_PROJECT", "GCLOUD_PROJECT", "GROWTHKIT_PROJECT_ID"
        ),
        description="The Google Cloud project holding Firestore, the queue and the "
        "functions (set by the platform in production).",
    )
    region: str = Field(
        "us-central1",
        validation_alias=AliasChoices("FUNCTION_REGION", "GROWTHKIT_REGION"),
        description="The region of the functions and of the Cloud Tasks queue.",
    )
    functions_base_url: str = Field(
        "http://127.0.0.1:8080",
        description="Where Cloud Tasks and the links in messages (unsubscribe, confirm, "
        "tracking) reach the functions; must be set in production.",
    )
    tasks_queue: str = Field(
        TASKS_QUEUE.name, description="The Cloud Tasks queue delayed and retried work uses."
    )
    task_service_account: str | None = Field(
        None,
        description="The service account whose OIDC token Cloud Tasks sends to `run_task` "
        "(none: tasks carry no token, as locally).",
    )
    mail_backend: Literal["outbox", "smtp"] = Field(
        "outbox",
        description="`outbox` records each e-mail as a Firestore document at "
        "`outbox/{id}` and sends nothing; `smtp` sends it through `smtp_host`.",
    )
    smtp_host: str = Field("127.0.0.1", description="The SMTP server (`mail_backend=smtp`).")
    smtp_port: int = Field(
        587,
        description="Its port: 587 (submission, STARTTLS) or 465 (implicit TLS); Google "
        "Cloud blocks outbound connections to port 25.",
    )
    smtp_tls: Literal["starttls", "implicit", "none"] | None = Field(
        None,
        description="How the connection is protected: `starttls` (upgraded before anything "
        "is said; a server that does not offer STARTTLS gets neither the password nor the "
        "message), `implicit` (TLS from the first byte) or `none` (plain text: local "
        "servers only, refused in production). Unset: `implicit` on port 465, else "
        "`starttls`.",
    )
    smtp_ca_file: str | None = Field(
        None,
        description="A PEM file of the authorities the server's certificate is checked "
        "against instead of the system's (a private relay; tests).",
    )
    smtp_timeout_seconds: float = Field(
        default=30.0, gt=0, le=120, description="Timeout of each SMTP connection and reply."
    )
    smtp_sender: str = Field(
        "no-reply@growthkit.local",
        description="The From address; its domain also ends every Message-ID.",
    )
    smtp_username: str | None = Field(None, description="SMTP login (with `smtp_password`).")
    smtp_password: SecretStr | None = Field(None, description="SMTP password.")
    sms_backend: Literal["outbox", "http"] = Field(
        "outbox",
        description="`outbox` records each SMS in Firestore; `http` posts it to a "
        "Twilio-like API (`sms_api_url`, basic auth with the account and token).",
    )
    sms_api_url: str = Field("", description="The SMS provider's message endpoint.")
    sms_from: str = Field("", description="The sending number.")
    sms_account: str = Field("", description="The provider account (basic-auth user).")
    sms_auth_token: SecretStr | None = Field(
        None,
        description="The provider token: basic-auth password, and the key inbound "
        "messages' `X-Twilio-Signature` must verify with (required for SMS in production).",
    )
    sms_timeout_seconds: float = Field(
        default=10.0, gt=0, le=60, description="Timeout of one call to the SMS provider."
    )
    email_events_secret: SecretStr | None = Field(
        None,
        description="Authenticates the e-mail provider's webhook (`email_events`): requests "
        "carry `X-GrowthKit-Signature: sha256=<hex HMAC-SHA256 of the body>`. Unset, unsigned "
        "events are accepted locally and every event is refused in production.",
    )
    signing_key: SecretStr = Field(
        SecretStr(_LOCAL_SIGNING_KEY),
        description="Signs the tokens of unsubscribe, confirmation and tracking links "
        "(HMAC-SHA256); must be set in production.",
    )
    secrets_key: SecretStr = Field(
        SecretStr(_LOCAL_SECRETS_KEY),
        description="Encrypts secrets and tokens at rest (AES-256-GCM): 32 bytes, "
        "base64url. The built-in development key is refused in production.",
    )
    secrets_previous_keys: SecretStr = Field(
        SecretStr(""),
        description="Earlier keys, comma-separated: they still decrypt what they sealed, so "
        "the key can be rotated.",
    )
    token_refresher: Literal["local", "oauth"] | None = Field(
        None,
        description="Renewing social platforms' OAuth tokens: `local` issues fake tokens, "
        "`oauth` asks each platform's token endpoint; unset, `oauth` in production and "
        "`local` elsewhere.",
    )
    oauth_linkedin_authorize_url: str = Field(
        "https://www.linkedin.com/oauth/v2/authorization",
        description="LinkedIn's authorization page, where staff connect an account "
        "(https:// in production).",
    )
    oauth_linkedin_token_url: str = Field(
        "https://www.linkedin.com/oauth/v2/accessToken",
        description="LinkedIn's token endpoint (https:// in production).",
    )
    oauth_linkedin_client_id: str = Field(
        "",
        description="LinkedIn OAuth client id (with the secret: connects and refreshes "
        "LinkedIn accounts).",
    )
    oauth_linkedin_client_secret: SecretStr | None = Field(
        None, description="LinkedIn OAuth client secret."
    )
    oauth_linkedin_client_auth: Literal["basic", "body"] = Field(
        "body", description="How the client authenticates: HTTP Basic or in the form body."
    )
    oauth_twitter_authorize_url: str = Field(
        "https://x.com/i/oauth2/authorize",
        description="X (Twitter)'s authorization page (https:// in production).",
    )
    oauth_twitter_token_url: str = Field(
        "https://api.x.com/2/oauth2/token",
        description="X (Twitter)'s token endpoint (https:// in production).",
    )
    oauth_twitter_client_id: str = Field(
        "", description="X OAuth client id (with the secret: connects and refreshes X)."
    )
    oauth_twitter_client_secret: SecretStr | None = Field(
        None, description="X OAuth client secret."
    )
    oauth_twitter_client_auth: Literal["basic", "body"] = Field(
        "basic", description="How the client authenticates: HTTP Basic or in the form body."
    )
    oauth_facebook_authorize_url: str = Field(
        "https://www.facebook.com/v21.0/dialog/oauth",
        description="Facebook Login's dialog, where staff connect a Page or its Instagram "
        "account (https:// in production).",
    )
    oauth_facebook_token_url: str = Field(
        "https://graph.facebook.com/v21.0/oauth/access_token",
        description="Facebook's token endpoint: codes, then long-lived tokens "
        "(https:// in production).",
    )
    oauth_facebook_client_id: str = Field(
        "",
        description="The Facebook app id (with the secret: connects Facebook Pages and "
        "Instagram accounts).",
    )
    oauth_facebook_client_secret: SecretStr | None = Field(
        None, description="The Facebook app secret."
    )
    oauth_return_url: str = Field(
        "",
        description="Where the browser goes once an account is connected (`oauth_callback` "
        "redirects there with `?connected=<connection id>`; https:// in production); "
        "unset: a page saying it worked.",
    )
    oauth_timeout_seconds: float = Field(
        default=10.0,
        gt=0,
        le=60,
        description="Timeout of one call to a token endpoint (or, connecting an account, "
        "to the platform's API).",
    )
    id_token_cert_url: str | None = Field(
        None,
        description="Where firebase-admin fetches the certificates of ID tokens (tests and "
        "`make serve` point it at a local server; unset: Google's).",
    )
    check_revoked_tokens: bool | None = Field(
        None,
        description="Look each staff caller's account up (one Firebase Auth call per "
        "request), so a removed, demoted or disabled member's token stops working at once. "
        "Unset: on in production and under `make serve`, off otherwise.",
    )
    max_body_bytes: int = Field(
        64 * 1024, description="Larger request bodies are refused with 413 before parsing."
    )
    click_link_max_age_days: int = Field(
        default=365,
        ge=1,
        le=3650,
        description="How long the tracked links of marketing e-mail redirect; then "
        "`track_click` answers with a page saying the link expired.",
    )
    trusted_proxies: int = Field(
        default=1,
        ge=0,
        le=10,
        description="Proxies in front of the functions that each append the address they "
        "took the connection from to `X-Forwarded-For`: the client's address is the one the "
        "outermost of them appended, counted from the right (whatever is left of it, the "
        "caller wrote). 1 suits Cloud Functions (2nd gen) and Cloud Run, where only Google's "
        "front end appends; 2 behind an external HTTPS load balancer; 0 trusts the header "
        "not at all.",
    )
    webhooks_allow_loopback: bool = Field(
        default=False,
        description="Lets workflow webhooks call this machine (127.0.0.0/8, ::1, "
        "localhost), for local receivers in tests and development; refused in production. "
        "Private and link-local addresses are refused everywhere.",
    )
    linkedin_api_url: str = Field(
        "https://api.linkedin.com",
        description="LinkedIn's API base URL (publishing; https:// in production). Setting "
        "any platform's URL sends posts to the platforms even locally (`make serve` points "
        "them at localcloud's stand-ins); with none set, a local instance records posts in "
        "Firestore instead (the local publisher). WordPress and webhooks use each "
        "connection's own URL.",
    )
    linkedin_version: str = Field(
        default="202609",
        pattern=r"^20[0-9]{4}$",
        description="The Posts API version sent as `LinkedIn-Version` (YYYYMM); LinkedIn "
        "serves each for a year.",
    )
    x_api_url: str = Field(
        "https://api.x.com", description="X's API base URL (publishing; https:// in production)."
    )
    facebook_graph_url: str = Field(
        "https://graph.facebook.com/v23.0",
        description="The Graph API base URL, version included (Facebook Pages and Instagram; "
        "https:// in production); Meta serves each version for about two years.",
    )
    publish_timeout_seconds: float = Field(
        default=15.0,
        gt=0,
        le=60,
        description="How long one call to a platform may take; past it a post is looked up, "
        "not resent.",
    )

    @model_validator(mode="after")
    def _no_local_secrets_in_production(self) -> Self:
        if self.environment == "production":
            if self.signing_key.get_secret_value() == _LOCAL_SIGNING_KEY:
                raise ValueError("GROWTHKIT_SIGNING_KEY must be set in production")
            if self.functions_base_url.startswith("http://127."):
                raise ValueError("GROWTHKIT_FUNCTIONS_BASE_URL must be set in production")
            if self.mail_backend == "smtp":
                self._production_smtp()
            if self.sms_backend == "http" and self.sms_auth_token is None:
                raise ValueError("GROWTHKIT_SMS_AUTH_TOKEN must be set for SMS in production")
            if self.sms_backend == "http" and not self.sms_api_url.startswith("https://"):
                raise ValueError("GROWTHKIT_SMS_API_URL must be an https:// URL in production")
            if self.webhooks_allow_loopback:
                raise ValueError("GROWTHKIT_WEBHOOKS_ALLOW_LOOPBACK is refused in production")
            if self.token_refresher == "local":
                raise ValueError("GROWTHKIT_TOKEN_REFRESHER=local hands out fake tokens")
            for platform in OAUTH_PLATFORMS:
                for url in ("authorize_url", "token_url"):
                    if not getattr(self, f"oauth_{platform}_{url}").startswith("https://"):
                        name = f"GROWTHKIT_OAUTH_{platform.upper()}_{url.upper()}"
                        raise ValueError(f"{name} must be an https:// URL in production")
            if self.oauth_return_url and not self.oauth_return_url.startswith("https://"):
                raise ValueError("GROWTHKIT_OAUTH_RETURN_URL must be an https:// URL")
            for field in PLATFORM_URLS:
                if not getattr(self, field).startswith("https://"):
                    raise ValueError(f"GROWTHKIT_{field.upper()} must be an https:// URL")
        return self

    def _production_smtp(self) -> None:
        """Production mail goes out encrypted and authenticated."""
        if self.smtp_tls_mode == "none":
            raise ValueError("GROWTHKIT_SMTP_TLS=none sends mail in clear: refused in production")
        if self.smtp_password is None or not self.smtp_username:
            raise ValueError(
                "GROWTHKIT_SMTP_USERNAME and GROWTHKIT_SMTP_PASSWORD must be set for mail "
                "in production"
            )

    @property
    def smtp_tls_mode(self) -> Literal["starttls", "implicit", "none"]:
        """``smtp_tls``, or what the port implies (465: implicit TLS)."""
        if self.smtp_tls is not None:
            return self.smtp_tls
        return "implicit" if self.smtp_port == 465 else "starttls"

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
    """A production function started without a secret it needs (``missing_secrets``), or
    without a setting it cannot work without (``unmet_settings``: a function that sends,
    on the outbox backend)."""


def missing_secrets(names: Iterable[str], environ: Mapping[str, str] | None = None) -> list[str]:
    """Those of the variables ``names`` that are unset or blank, in production; none
    elsewhere (locally a function works without what nobody configured). Read straight
    from the environment, as ``from_environment`` would, without building Settings: this
    runs when a function loads."""
    env = _production_env(environ)
    return [name for name in names if env is not None and not env.get(name.upper(), "").strip()]


def unmet_settings(
    required: Iterable[tuple[str, str]], environ: Mapping[str, str] | None = None
) -> list[str]:
    """Those of the ``(variable, value)`` pairs the environment does not have, in
    production, as ``VARIABLE=value`` (the setting to change); none elsewhere. Read as
    ``missing_secrets`` reads, when the function loads."""
    env = _production_env(environ)
    if env is None:
        return []
    return [
        f"{name}={value}"
        for name, value in required
        if env.get(name.upper(), "").strip().lower() != value.lower()
    ]


def _production_env(environ: Mapping[str, str] | None) -> dict[str, str] | None:
    """The environment by upper-case name, in production only (else None)."""
    env = {k.upper(): v for k, v in (os.environ if environ is None else environ).items()}
    # Stricter than Settings, which refuses any other spelling of "production" anyway.
    if env.get(ENV_PREFIX + "ENVIRONMENT", "").strip().lower() != "production":
        return None
    return env


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
