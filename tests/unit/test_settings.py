"""Settings read from the environment the way pydantic-settings read them before."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from shared.settings import from_environment, missing_secrets, unmet_settings


def test_prefixed_names_in_any_case_are_read_and_coerced() -> None:
    """``GROWTHKIT_<FIELD>`` in any case; strings become the field's type; others ignored."""
    settings = from_environment(
        {"growthkit_smtp_port": "2525", "GROWTHKIT_MAIL_BACKEND": "smtp", "SMTP_HOST": "x"}
    )
    assert (2525, "smtp", "127.0.0.1") == (
        settings.smtp_port,
        settings.mail_backend,
        settings.smtp_host,
    )


def test_aliases_are_read_in_order_of_preference() -> None:
    """GOOGLE_CLOUD_PROJECT wins over GCLOUD_PROJECT and GROWTHKIT_PROJECT_ID; FUNCTION_REGION
    over GROWTHKIT_REGION; the prefixed name of an aliased field alone still works."""
    every = {"GOOGLE_CLOUD_PROJECT": "a", "GCLOUD_PROJECT": "b", "GROWTHKIT_PROJECT_ID": "c"}
    regions = {"FUNCTION_REGION": "europe-west1", "GROWTHKIT_REGION": "us-east1"}
    assert ("a", "europe-west1") == (
        from_environment({**every, **regions}).project_id,
        from_environment(regions).region,
    )
    assert ("c", "us-east1") == (
        from_environment({"GROWTHKIT_PROJECT_ID": "c"}).project_id,
        from_environment({"GROWTHKIT_REGION": "us-east1"}).region,
    )


def test_production_refuses_the_local_signing_key_and_base_url() -> None:
    """Production must be given its own signing key and its functions' URL."""
    with pytest.raises(ValidationError, match="GROWTHKIT_SIGNING_KEY"):
        from_environment({"GROWTHKIT_ENVIRONMENT": "production"})
    settings = from_environment(
        {
            "GROWTHKIT_ENVIRONMENT": "production",
            "GROWTHKIT_SIGNING_KEY": "s3cret",
            "GROWTHKIT_FUNCTIONS_BASE_URL": "https://r-p.cloudfunctions.net",
        }
    )
    assert ("s3cret", "**********") == (
        settings.signing_key.get_secret_value(),
        str(settings.signing_key),
    )


def test_defaults_without_any_variable() -> None:
    """An empty environment is the local development set-up."""
    settings = from_environment({})
    assert ("local", "demo-growthkit", "outbox") == (
        settings.environment,
        settings.project_id,
        settings.mail_backend,
    )


def test_missing_secrets_counts_only_in_production_and_blank_is_missing() -> None:
    """Names as from_environment reads them (any case); an unset or blank value is
    missing in production; elsewhere nothing is (make serve configures no secret)."""
    names = ("GROWTHKIT_SMS_AUTH_TOKEN", "GROWTHKIT_EMAIL_EVENTS_SECRET", "GROWTHKIT_SIGNING_KEY")
    env = {"growthkit_sms_auth_token": "t", "GROWTHKIT_EMAIL_EVENTS_SECRET": "  "}
    assert (["GROWTHKIT_EMAIL_EVENTS_SECRET", "GROWTHKIT_SIGNING_KEY"], [], []) == (
        missing_secrets(names, {**env, "GROWTHKIT_ENVIRONMENT": "production"}),
        missing_secrets(names, env),
        missing_secrets(names, {**env, "GROWTHKIT_ENVIRONMENT": "local"}),
    )


@pytest.mark.parametrize(
    "name", ["GROWTHKIT_LINKEDIN_API_URL", "GROWTHKIT_X_API_URL", "GROWTHKIT_FACEBOOK_GRAPH_URL"]
)
def test_platform_base_urls_are_https_in_production(name: str) -> None:
    """A publishing platform's base URL may point anywhere locally (the stand-ins), and
    setting one says so; production takes https only."""
    production = {
        "GROWTHKIT_ENVIRONMENT": "production",
        "GROWTHKIT_SIGNING_KEY": "s3cret",
        "GROWTHKIT_FUNCTIONS_BASE_URL": "https://r-p.cloudfunctions.net",
    }
    assert not from_environment(production).platform_urls_set
    assert from_environment({name: "http://127.0.0.1:8690/x"}).platform_urls_set
    with pytest.raises(ValidationError, match=f"{name} must be an https:// URL"):
        from_environment(production | {name: "http://api.example.com"})
    assert from_environment(production | {name: "https://api.example.com"}).platform_urls_set


def test_production_mail_is_encrypted_and_authenticated() -> None:
    """With SMTP in production: no plain-text connection, and a login."""
    production = {
        "GROWTHKIT_ENVIRONMENT": "production",
        "GROWTHKIT_SIGNING_KEY": "s3cret",
        "GROWTHKIT_FUNCTIONS_BASE_URL": "https://r-p.cloudfunctions.net",
        "GROWTHKIT_MAIL_BACKEND": "smtp",
        "GROWTHKIT_SMTP_USERNAME": "apikey",
        "GROWTHKIT_SMTP_PASSWORD": "pw",
    }
    with pytest.raises(ValidationError, match="GROWTHKIT_SMTP_TLS=none"):
        from_environment(production | {"GROWTHKIT_SMTP_TLS": "none"})
    without = {k: v for k, v in production.items() if k != "GROWTHKIT_SMTP_PASSWORD"}
    with pytest.raises(ValidationError, match="GROWTHKIT_SMTP_PASSWORD"):
        from_environment(without)
    assert ("starttls", "implicit") == (
        from_environment(production).smtp_tls_mode,
        from_environment(production | {"GROWTHKIT_SMTP_PORT": "465"}).smtp_tls_mode,
    )


def test_production_sms_goes_over_https_with_its_token() -> None:
    """The provider's basic auth (the token) never travels in clear."""
    production = {
        "GROWTHKIT_ENVIRONMENT": "production",
        "GROWTHKIT_SIGNING_KEY": "s3cret",
        "GROWTHKIT_FUNCTIONS_BASE_URL": "https://r-p.cloudfunctions.net",
        "GROWTHKIT_SMS_BACKEND": "http",
        "GROWTHKIT_SMS_AUTH_TOKEN": "t",
        "GROWTHKIT_SMS_API_URL": "http://api.twilio.com/2010-04-01/Accounts/AC1/Messages.json",
    }
    with pytest.raises(ValidationError, match="GROWTHKIT_SMS_API_URL"):
        from_environment(production)
    https = production["GROWTHKIT_SMS_API_URL"].replace("http:", "https:")
    assert from_environment(production | {"GROWTHKIT_SMS_API_URL": https}).sms_api_url == https


def test_unmet_settings_name_the_value_to_set_in_production_only() -> None:
    required = [("GROWTHKIT_MAIL_BACKEND", "smtp"), ("GROWTHKIT_SMS_BACKEND", "http")]
    production = {"GROWTHKIT_ENVIRONMENT": "production", "GROWTHKIT_SMS_BACKEND": "HTTP"}
    assert (["GROWTHKIT_MAIL_BACKEND=smtp"], []) == (
        unmet_settings(required, production),
        unmet_settings(required, {"GROWTHKIT_ENVIRONMENT": "local"}),
    )
