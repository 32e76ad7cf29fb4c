"""All configuration in one fail-fast ``Settings`` object, read from the environment."""

from __future__ import annotations

import functools
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.manifest import TASKS_QUEUE

_LOCAL_SIGNING_KEY = "local-development-signing-key-not-secret"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GROWTHKIT_", extra="ignore", frozen=True)

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
    # Signs unsubscribe and confirmation links.
    signing_key: SecretStr = SecretStr(_LOCAL_SIGNING_KEY)
    # Tests point firebase-admin's certificate lookup at a local server.
    id_token_cert_url: str | None = None
    max_body_bytes: int = 64 * 1024

    @model_validator(mode="after")
    def _no_local_secrets_in_production(self) -> Settings:
        if self.environment == "production":
            if self.signing_key.get_secret_value() == _LOCAL_SIGNING_KEY:
                raise ValueError("GROWTHKIT_SIGNING_KEY must be set in production")
            if self.functions_base_url.startswith("http://127."):
                raise ValueError("GROWTHKIT_FUNCTIONS_BASE_URL must be set in production")
        return self

    @property
    def queue_path(self) -> str:
        return f"projects/{self.project_id}/locations/{self.region}/queues/{self.tasks_queue}"


@functools.cache
def get_settings() -> Settings:
    return Settings()
