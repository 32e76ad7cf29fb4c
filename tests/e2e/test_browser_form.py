"""End to end in a real browser: a visitor fills the example page's form under `make serve`
(headless Debian Chromium through chromedriver), and what the page shows and Firestore holds.

`make test` installs Debian's ``chromium`` and ``chromium-driver`` when they are missing.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from shared.domain.common import NOT_AN_ADDRESS

pytestmark = pytest.mark.e2e

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
# Without these Chromium reaches for Google's services and hangs on a closed network.
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1024,900",
)
# The demo company's CompanySettings.min_submit_seconds (3 s), with a margin: a form sent
# sooner after the page rendered it is kept apart as spam ("too_fast").
FILL_SECONDS = 3.5
WAIT = 15


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Headless Chromium with a fresh, empty profile."""
    yield from chromium(tmp_path_factory, javascript=True)


@pytest.fixture(scope="module")
def browser_without_js(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The same with JavaScript turned off, as some visitors (and their blockers) have it."""
    yield from chromium(tmp_path_factory, javascript=False)


def chromium(factory: pytest.TempPathFactory, javascript: bool) -> Iterator[Any]:
    """Chromium driven by Debian's chromedriver (a Service with its path, so Selenium
    Manager never tries to download one)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    assert not missing, f"{missing} missing: `make test` installs chromium and chromium-driver"
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in CHROMIUM_ARGS:
        options.add_argument(arg)
    options.add_argument(f"--user-data-dir={factory.mktemp('chromium-profile')}")
    if not javascript:  # Chromium's content setting: 2 blocks scripts on every site
        prefs = {"profile.managed_default_content_settings.javascript": 2}
        options.add_experimental_option("prefs", prefs)
    driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
    driver.set_page_load_timeout(WAIT)
    try:
        yield driver
    finally:
        driver.quit()


def page_url(stack: dict[str, Any], query: str = "") -> str:
    return f"http://127.0.0.1:{stack['ports']['FUNCTIONS']}/{query}"


def fill(browser: Any, **fields: str) -> None:
    """Type into the form's inputs by id, as a visitor does."""
    from selenium.webdriver.common.by import By

    for field_id, value in fields.items():
        element = browser.find_element(By.ID, field_id)
        element.clear()
        element.send_keys(value)


def submit_after_fill_time(browser: Any) -> None:
    """Click the button once the form has been open longer than the too-fast check."""
    from selenium.webdriver.common.by import By

    started_ms = float(browser.find_element(By.ID, "started_at").get_attribute("value"))
    rendered_for = time.time() - started_ms / 1000
    time.sleep(max(0.0, FILL_SECONDS - rendered_for))
    browser.find_element(By.CSS_SELECTOR, "#lead-form button[type=submit]").click()


def result_shown(browser: Any) -> tuple[str, str]:
    """The class and text of the page's result box, once the post has been answered."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    result = browser.find_element(By.ID, "result")
    WebDriverWait(browser, WAIT).until(lambda _: result.get_attribute("class") in ("ok", "err"))
    return str(result.get_attribute("class")), str(result.text)


def leads_with(db: Any, email: str) -> list[Any]:
    from google.cloud.firestore_v1.base_query import FieldFilter

    query = db.collection("companies/demo/leads").where(
        filter=FieldFilter("email_normalized", "==", email)
    )
    return list(query.get())


def test_visitor_fills_the_form_and_the_lead_is_stored(
    stack: dict[str, Any], browser: Any, stack_db: Any
) -> None:
    """Typed fields, ticked consent and the page's UTM tags end up in one lead, with its
    consent evidence and the submission's interaction; the visitor sees the thanks."""
    from selenium.webdriver.common.by import By

    email = f"browser-{uuid.uuid4().hex[:10]}@example.com"
    browser.get(page_url(stack, "?utm_source=newsletter&utm_campaign=spring"))
    consent_text = browser.find_element(By.ID, "consent-text").text
    fill(
        browser,
        name="Browser Visitor",
        email=email,
        phone="555-0199",
        message="The kitchen sink drips.",
    )
    browser.find_element(By.ID, "consent").click()
    submit_after_fill_time(browser)

    assert ("ok", "Thanks! We received your request.") == result_shown(browser)
    assert "" == browser.find_element(By.ID, "email").get_attribute("value"), "form reset"

    leads = leads_with(stack_db, email)
    assert 1 == len(leads), f"expected one lead for {email}, found {len(leads)}"
    lead = leads[0].to_dict()
    assert (email, "Browser Visitor", "555-0199") == (lead["email"], lead["name"], lead["phone"])
    assert "demo" == lead["company_id"]
    assert "campaign" == lead["source"]
    touch = lead["first_touch"]
    assert {"source": "newsletter", "campaign": "spring"}.items() <= touch["utm"].items()
    assert page_url(stack, "?utm_source=newsletter&utm_campaign=spring") == touch["page_url"]
    consent = lead["consent"]
    assert consent["given"] is True
    assert consent_text == consent["text"]
    assert ("2026-11", "quote-form", "127.0.0.1") == (
        consent["text_version"],
        consent["form_id"],
        consent["ip"],
    )
    assert consent["given_at"] is not None
    forms = [
        i.to_dict()
        for i in leads[0].reference.collection("interactions").get()
        if i.to_dict().get("type") == "form"
    ]
    assert 1 == len(forms), forms
    assert "The kitchen sink drips." == forms[0]["body"]
    assert "quote-form" == forms[0]["metadata"]["form_id"]


def test_invalid_email_is_shown_at_the_field_and_can_be_fixed(
    stack: dict[str, Any], browser: Any, stack_db: Any
) -> None:
    """An address the browser lets through (no dot in the domain) but the intake refuses:
    the visitor reads the message under the e-mail field, nothing is stored, and the
    corrected form goes through as one lead."""
    from selenium.webdriver.common.by import By

    token = uuid.uuid4().hex[:10]
    bad, good = f"browser-{token}@localhost", f"browser-{token}@example.com"
    browser.get(page_url(stack))
    fill(browser, name="Typo Visitor", email=bad)
    submit_after_fill_time(browser)

    assert ("err", "Some fields are invalid.") == result_shown(browser)
    email = browser.find_element(By.ID, "email")
    assert NOT_AN_ADDRESS == browser.find_element(By.ID, "email-error").text
    assert ("true", "email-error") == (
        email.get_attribute("aria-invalid"),
        email.get_attribute("aria-describedby"),
    )
    assert email == browser.switch_to.active_element, "the wrong field has the focus"
    assert bad == email.get_attribute("value"), "what the visitor typed is kept to fix"
    assert [] == leads_with(stack_db, bad)

    fill(browser, email=good)
    browser.find_element(By.CSS_SELECTOR, "#lead-form button[type=submit]").click()
    assert ("ok", "Thanks! We received your request.") == result_shown(browser)
    assert [] == browser.find_elements(By.CSS_SELECTOR, ".field-error")
    assert 1 == len(leads_with(stack_db, good))
    assert [] == leads_with(stack_db, bad)


def page_after_post(browser: Any, stack: dict[str, Any]) -> tuple[str, str]:
    """Send the form with its button and wait for the page the browser goes to: its
    address and text."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser.find_element(By.CSS_SELECTOR, "#lead-form button[type=submit]").click()
    WebDriverWait(browser, WAIT).until(lambda b: b.current_url != page_url(stack))
    return str(browser.current_url), str(browser.find_element(By.TAG_NAME, "body").text)


def test_without_javascript_the_form_still_makes_a_lead(
    stack: dict[str, Any], browser_without_js: Any, stack_db: Any
) -> None:
    """No script sets a fill time or reads an answer: the plain post becomes a lead (with
    the consent wording the page showed), and the browser lands on the thank-you page."""
    from selenium.webdriver.common.by import By

    browser = browser_without_js
    email = f"noscript-{uuid.uuid4().hex[:10]}@example.com"
    browser.get(page_url(stack))
    assert "" == browser.find_element(By.ID, "started_at").get_attribute("value"), "JS ran"
    consent_text = browser.find_element(By.ID, "consent-text").text
    fill(browser, name="Plain Visitor", email=email, message="No scripts here.")
    browser.find_element(By.ID, "consent").click()
    url, text = page_after_post(browser, stack)

    assert (page_url(stack, "thanks"), True) == (url, "Thank you!" in text), text
    leads = leads_with(stack_db, email)
    assert 1 == len(leads), f"expected one lead for {email}, found {len(leads)}"
    lead = leads[0].to_dict()
    assert ("Plain Visitor", None) == (lead["name"], lead["phone"])
    assert (True, consent_text) == (lead["consent"]["given"], lead["consent"]["text"])


def test_without_javascript_a_refusal_is_a_page_saying_why(
    stack: dict[str, Any], browser_without_js: Any, stack_db: Any
) -> None:
    """An address the browser lets through but the intake refuses: the visitor reads the
    message and the field's on a page (not JSON), and nothing is stored."""
    browser = browser_without_js
    bad = f"noscript-{uuid.uuid4().hex[:10]}@localhost"
    browser.get(page_url(stack))
    fill(browser, name="Typo Visitor", email=bad)
    url, text = page_after_post(browser, stack)

    assert "/lead_intake" in url
    assert "Your form was not sent" in text and "Some fields are invalid." in text, text
    assert f"email: {NOT_AN_ADDRESS}" in text and '"error"' not in text
    assert [] == leads_with(stack_db, bad)
