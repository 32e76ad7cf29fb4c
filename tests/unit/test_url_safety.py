"""The URL rules of webhook calls: what is read strictly, what is refused, which
addresses are public; and the setting that allows loopback, refused in production."""

from __future__ import annotations

import ipaddress

import pytest

from shared.domain.url_safety import UnsafeUrl, address_allowed, parse_target
from shared.domain.workflows_validation import parse_definition
from shared.errors import InvalidInput
from shared.settings import from_environment


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://127.0.0.1:8080\\@8.8.8.8/", "backslash"),
        ("http://hooks.example.com\\x/", "backslash"),
        ("http://8.8.8.8@hooks.example.com/", "user names"),
        ("http://user:pw@hooks.example.com/", "user names"),
        ("http://2130706433/", "four decimal numbers"),
        ("http://0x7f000001/", "four decimal numbers"),
        ("http://0x7f.0.0.1/", "four decimal numbers"),
        ("http://0177.0.0.1/", "four decimal numbers"),
        ("http://127.1/", "four decimal numbers"),
        ("http://8.8.8.08/", "four decimal numbers"),
        ("http://127.0.0.1/", "not a public address"),
        ("http://10.0.0.7/", "not a public address"),
        ("http://100.64.0.1/", "not a public address"),
        ("http://169.254.169.254/computeMetadata/v1/", "not a public address"),
        ("http://0.0.0.0/", "not a public address"),
        ("http://224.0.0.1/", "not a public address"),
        ("http://[::1]/", "not a public address"),
        ("http://[::ffff:127.0.0.1]/", "not a public address"),
        ("http://[::ffff:8.8.8.8]/", "not a public address"),
        ("http://[64:ff9b::7f00:1]/", "not a public address"),
        ("http://[2002:7f00:1::]/", "not a public address"),
        ("http://[fe80::1%25eth0]/", "plain host name"),
        ("http://localhost/", "not a public host name"),
        ("http://LOCALHOST./", "not a public host name"),
        ("http://api.localhost/", "not a public host name"),
        ("http://metadata/", "not a public host name"),
        ("http://metadata.google.internal/", "not a public host name"),
        ("http://printer.local/", "not a public host name"),
        ("http://hooks.example.com:0/", "out of range"),
        ("http://hooks.example.com:99999/", "cannot be read"),
        ("http://hooks.example.com/a b", "printable ASCII"),
        ("http://hooks.exämple.com/", "printable ASCII"),
        ("ftp://hooks.example.com/", "http:// or https://"),
        ("http:/hooks.example.com/", "http:// or https://"),
        ("http://hooks..example.com/", "valid host name"),
        ("http://-hooks.example.com/", "valid host name"),
    ],
)
def test_tricks_and_internal_hosts_are_refused_with_why(url: str, why: str) -> None:
    with pytest.raises(UnsafeUrl, match=why):
        parse_target(url)


def test_a_public_url_is_read_into_what_the_call_uses() -> None:
    """Host in lower case for DNS and TLS, the authority as written for ``Host``."""
    target = parse_target("HTTPS://Hooks.Example.com:8443/a/b?x=1&y=%20#frag")
    assert ("https", "hooks.example.com", 8443, "Hooks.Example.com:8443", "/a/b?x=1&y=%20") == (
        target.scheme,
        target.host,
        target.port,
        target.authority,
        target.path,
    )
    assert (80, "/", None) == (
        parse_target("http://hooks.example.com").port,
        parse_target("http://hooks.example.com").path,
        parse_target("http://hooks.example.com").address,
    )
    assert ipaddress.ip_address("8.8.8.8") == parse_target("http://8.8.8.8:81/").address


def test_loopback_is_allowed_only_when_asked_and_nothing_else_with_it() -> None:
    """Allowing loopback (tests, local receivers) lets 127.0.0.0/8, ::1 and localhost
    through, and still refuses private ranges and every trick."""
    allowed = [
        parse_target(u, allow_loopback=True).host
        for u in ("http://127.0.0.1:9/", "http://[::1]:9/", "http://localhost:9/")
    ]
    assert ["127.0.0.1", "::1", "localhost"] == allowed
    for url in ("http://10.0.0.7/", "http://2130706433/", "http://[::ffff:127.0.0.1]/"):
        with pytest.raises(UnsafeUrl):
            parse_target(url, allow_loopback=True)


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("8.8.8.8", True),
        ("2001:4860:4860::8888", True),
        ("192.168.1.1", False),
        ("172.16.0.1", False),
        ("198.18.0.1", False),
        ("255.255.255.255", False),
        ("fc00::1", False),
        ("fe80::1", False),
        ("::", False),
        ("::127.0.0.1", False),
        ("2001::1", False),
        ("ff02::1", False),
    ],
)
def test_public_addresses(address: str, public: bool) -> None:
    assert public == address_allowed(ipaddress.ip_address(address))


def test_the_workflow_validator_names_the_step_of_an_unsafe_url() -> None:
    steps = [{"type": "webhook", "url": "https://hooks.example.com/ok"}]
    steps.append({"type": "webhook", "url": "http://127.0.0.1:8080\\@8.8.8.8/"})
    with pytest.raises(InvalidInput) as refused:
        parse_definition({"name": "W", "trigger": {"type": "manual"}, "steps": steps})
    assert ["steps[1].url"] == list(refused.value.details["fields"])
    loopback = [{"type": "webhook", "url": "http://127.0.0.1:8080/hook"}]
    parsed = parse_definition(
        {"name": "W", "trigger": {"type": "manual"}, "steps": loopback}, allow_loopback=True
    )
    assert "webhook" == parsed.steps[0].type


def test_production_refuses_the_loopback_setting() -> None:
    env = {
        "GROWTHKIT_ENVIRONMENT": "production",
        "GROWTHKIT_SIGNING_KEY": "a-production-signing-key",
        "GROWTHKIT_FUNCTIONS_BASE_URL": "https://fn.example",
    }
    assert not from_environment(env).webhooks_allow_loopback
    assert from_environment({"GROWTHKIT_WEBHOOKS_ALLOW_LOOPBACK": "true"}).webhooks_allow_loopback
    with pytest.raises(ValueError, match="WEBHOOKS_ALLOW_LOOPBACK"):
        from_environment({**env, "GROWTHKIT_WEBHOOKS_ALLOW_LOOPBACK": "true"})
