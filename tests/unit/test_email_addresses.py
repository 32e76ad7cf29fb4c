"""The one reading of an e-mail address (``normalize_email``): a plain address in its
canonical form, or a ValueError; what it accepts is what a mail server delivers to."""

from __future__ import annotations

from email.utils import getaddresses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.domain.common import canonical_email, mailbox_of, normalize_email

ADDRESS_CHARS = st.sampled_from(list("aZ09.-_+@<>\"'() ,;:[]\\\n\t\x00éк") + ["xn--", ".com"])


@pytest.mark.parametrize(
    "value",
    [
        "<jane@example.com>",
        '"Jane" <jane@example.com>',
        "jane@example.com, bob@example.com",
        "jane@example.com\r\nBcc: bob@example.com",
        "jane(x)@example.com",
        '"jane"@example.com',
        "jane@[127.0.0.1]",
        "jane@localhost",
        "jane@example.c",
        "jane@1.2.3.4",
        "jane@-example.com",
        "jane@example-.com",
        "jane..doe@example.com",
        "jane.@example.com",
        "jane@example..com",
        "j\u0430ne@example.com",  # a Cyrillic "a"
        "\u212aate@example.com",  # the Kelvin sign, lower-cased to "k"
        "jane@example.com\x00",
        f"{'j' * 65}@example.com",
        "",
        "@example.com",
        "jane@",
    ],
)
def test_what_is_not_a_plain_address_is_refused(value: str) -> None:
    with pytest.raises(ValueError, match="not a valid email address"):
        normalize_email(value)


def test_a_plain_address_is_trimmed_and_lower_cased() -> None:
    assert "o'hara+news@mail.example.co.uk" == normalize_email(" O'Hara+News@Mail.Example.co.UK\n")
    assert "jane@xn--bcher-kva.example" == normalize_email("jane@xn--bcher-kva.example")


@given(st.lists(ADDRESS_CHARS, max_size=12).map("".join))
def test_an_accepted_address_is_what_a_mail_server_reads(value: str) -> None:
    """Whatever the text, an accepted address is canonical, reads back as itself, and is
    the one address a mail library finds in it (so a send goes where we compared)."""
    try:
        address = normalize_email(value)
    except ValueError:
        return
    assert address == normalize_email(address) == address.strip().lower()
    assert [("", address)] == getaddresses([address])


def test_stored_values_name_the_address_they_reached() -> None:
    """For values stored before addresses were read strictly: the one address inside."""
    assert "jane@example.com" == mailbox_of('"Jane" <Jane@Example.com>')
    assert "jane@example.com" == mailbox_of("<jane@example.com>")
    assert None is mailbox_of("jane@example.com, bob@example.com")
    assert None is mailbox_of("nobody")
    assert "janedoe@gmail.com" == canonical_email("<Jane.Doe+x@googlemail.com>")
