"""Which URLs typed by staff the platform may call (workflow webhook steps), and at
which addresses: one set of rules for the check on save and the check before each call.

A URL is read here once, strictly, into a ``Target`` (host, port, what goes on the
request line and in ``Host``), and the adapter connects to nothing else: the usual
bypasses of a guard are parser disagreements, so anything two parsers could read
differently is refused instead of guessed at: user info (``a@b``), backslashes,
whitespace and other characters outside printable ASCII, IPv4 in any form but four
decimal numbers (``2130706433``, ``0x7f.1``, ``0177.0.0.1``, ``127.1``), IPv6 zone ids.
Addresses must be public unicast ones; IPv6 forms that carry an IPv4 address (mapped,
compatible, NAT64, 6to4, Teredo) are refused whatever they carry. Loopback is allowed
only when the deployment says so (``webhooks_allow_loopback``, for local receivers in
tests; production refuses that setting).
"""

from __future__ import annotations

import ipaddress
import re
from typing import Literal
from urllib.parse import urlsplit

from msgspec import Struct

MAX_URL_CHARS = 2000
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_PRINTABLE = re.compile(r"^[\x21-\x7e]+$")
_NETLOC = re.compile(r"^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9._-]+)(:[0-9]{1,5})?$")
_LABEL = re.compile(r"^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$")
# A last label like these makes URL parsers (browsers', curl's, inet_aton) read the
# host as an IPv4 address in one of its legacy forms.
_NUMERIC = re.compile(r"^(0x[0-9a-f]*|[0-9]+)$")
_INTERNAL_SUFFIXES = (".localhost", ".local", ".localdomain", ".internal", ".home.arpa")
# IPv6 ranges that embed an IPv4 address: what is reached depends on a translator.
_EMBEDDING = tuple(
    ipaddress.IPv6Network(n)
    for n in ("::/96", "::ffff:0:0/96", "64:ff9b::/96", "64:ff9b:1::/48", "2002::/16", "2001::/32")
)


class Target(Struct, frozen=True):
    """Where a checked URL goes: ``host`` is a lower-case name or an IP address (no
    brackets), ``authority`` the ``Host`` header (as written), ``path`` the request line's
    target (path and query)."""

    scheme: Literal["http", "https"]
    host: str
    port: int
    authority: str
    path: str
    address: IPAddress | None  # the host, when it is an address


class UnsafeUrl(ValueError):
    """A URL the platform will not call; the message says why, from the URL alone."""


def parse_target(url: str, *, allow_loopback: bool = False) -> Target:
    """The target of ``url`` once it passes every rule of this module (the host's DNS
    answers are checked later, with ``address_allowed``).

    Raises:
        UnsafeUrl: what is wrong with it.
    """
    if len(url) > MAX_URL_CHARS or not _PRINTABLE.match(url):
        raise UnsafeUrl("use at most 2000 printable ASCII characters (percent-encode others)")
    if "\\" in url:
        raise UnsafeUrl("a backslash is not allowed in a webhook URL")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as err:  # a bad port or bracketed host
        raise UnsafeUrl("the host or port cannot be read") from err
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not url.lower().startswith(f"{scheme}://"):
        raise UnsafeUrl("use an http:// or https:// URL")
    if "@" in parts.netloc:
        raise UnsafeUrl("user names and passwords are not allowed in a webhook URL")
    if not _NETLOC.match(parts.netloc):
        raise UnsafeUrl("the host is not a plain host name or IP address")
    host, address = _host(parts.hostname or "", allow_loopback)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    target: Literal["http", "https"] = "http" if scheme == "http" else "https"
    return Target(target, host, _port(port, scheme), parts.netloc, path, address)


def _port(port: int | None, scheme: str) -> int:
    if port is None:
        return 80 if scheme == "http" else 443
    if not 0 < port < 65536:
        raise UnsafeUrl("the port is out of range")
    return port


def _host(host: str, allow_loopback: bool) -> tuple[str, IPAddress | None]:
    """The host (lower case, no trailing dot) and its address when it is one."""
    if ":" in host:  # bracketed in the URL: IPv6
        try:
            address: IPAddress = ipaddress.IPv6Address(host)
        except ValueError as err:
            raise UnsafeUrl("the host is not a valid IPv6 address") from err
        return str(address), _allowed_literal(address, allow_loopback)
    name = host.lower().removesuffix(".")
    labels = name.split(".")
    if not name or len(name) > 253 or not all(_LABEL.match(label) for label in labels):
        raise UnsafeUrl("the host is not a valid host name")
    if _NUMERIC.match(labels[-1]):
        return name, _allowed_literal(_ipv4(name), allow_loopback)
    local = name == "localhost" or name.endswith(".localhost")
    if local and allow_loopback:
        return name, None
    if local or len(labels) < 2 or name.endswith(_INTERNAL_SUFFIXES):
        raise UnsafeUrl("the host is not a public host name (name it in full)")
    return name, None


def _ipv4(name: str) -> ipaddress.IPv4Address:
    """Four decimal numbers, and nothing an ``inet_aton`` would also read as an address."""
    try:
        address = ipaddress.IPv4Address(name)
    except ValueError:
        address = None
    if address is None or str(address) != name:
        raise UnsafeUrl("write an IPv4 address as four decimal numbers (a.b.c.d)")
    return address


def _allowed_literal(address: IPAddress, allow_loopback: bool) -> IPAddress:
    if not address_allowed(address, allow_loopback=allow_loopback):
        raise UnsafeUrl("the host is not a public address")
    return address


def address_allowed(address: IPAddress, *, allow_loopback: bool = False) -> bool:
    """A public unicast address (or loopback, when allowed), not one embedding IPv4."""
    if allow_loopback and address.is_loopback:
        return True
    if isinstance(address, ipaddress.IPv6Address) and any(address in n for n in _EMBEDDING):
        return False
    return address.is_global and not (address.is_multicast or address.is_reserved)
