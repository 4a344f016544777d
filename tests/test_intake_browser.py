"""A real browser against `python -m intake`: both flows of the objection form, and the bad
inputs (expired or forged link, missing fields, oversized input, a replayed form).

Drives Debian's /usr/bin/chromium through Playwright as tests/test_ui_browser.py does (`make
browser-deps`); fails, not skips, without it. Screenshots of the form go to docs/screenshots/
when CONSENTRY_UPDATE_SCREENSHOTS=1 (for the README), else beside the test's temp files.
"""

from __future__ import annotations

import email
import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from intake import tokens
from intake.links import mint_link
from intake.settings import IntakeSettings
from tests.intake_server import SECRET, serve_process
from tests.test_ui_browser import BROWSER_ARGS, SCREENSHOTS, require_browser

pytestmark = pytest.mark.slow
CHROMIUM = "/usr/bin/chromium"
VIEWPORT = {"width": 1000, "height": 900}


@dataclass
class Service:
    url: str
    settings: IntakeSettings

    def link(self, user: str, days: int = 30) -> str:
        return mint_link(self.settings, user, days)

    def landed(self) -> list[dict]:
        folder = self.settings.objections_dir
        return [json.loads(p.read_text()) for p in sorted(folder.glob("*.jsonl"))] if folder.exists() else []

    def mails(self) -> list[email.message.Message]:
        box = self.settings.outbox
        return [email.message_from_bytes(p.read_bytes()) for p in sorted(box.glob("*.eml"))] if box.exists() else []


@pytest.fixture
def service(tmp_path: Path) -> Iterator[Service]:
    env = {"CONSENTRY_INTAKE_SECRET": SECRET.decode(), "CONSENTRY_DATA": str(tmp_path / "data"),
           "CONSENTRY_LANDING": str(tmp_path / "landing"), "CONSENTRY_INTAKE_OUTBOX": str(tmp_path / "outbox")}
    with serve_process(env, tmp_path / "intake.log") as url:
        settings = IntakeSettings.from_env({**env, "CONSENTRY_INTAKE_BASE_URL": url})
        yield Service(url, settings)


@pytest.fixture
def browser(tmp_path: Path):
    sync_api = require_browser()
    with sync_api.sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"), executable_path=CHROMIUM, headless=True, args=BROWSER_ARGS,
            viewport=VIEWPORT, locale="en-GB")
        context.set_default_timeout(15_000)
        page = context.pages[0] if context.pages else context.new_page()
        try:
            yield page, sync_api.expect
        except BaseException:
            page.screenshot(path=str(tmp_path / "failure.png"))
            raise
        finally:
            context.close()


def shot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / name), full_page=True)


def test_user_objects_from_the_notification_link(service: Service, browser) -> None:
    page, expect = browser
    page.goto(service.link("alice"))
    expect(page.locator("h1")).to_have_text("Object to the use of your content for AI training")
    page.get_by_role("link", name="Deutsch").click()  # the language switch
    expect(page.locator("html")).to_have_attribute("lang", "de")
    page.get_by_label("Ich widerspreche").check()
    shot(page, "objection-form.png")
    served = {name: page.locator(f'input[name="{name}"]').get_attribute("value")
              for name in ("nonce", "issued", "nsig", "csrf", "lang")}
    page.get_by_role("button", name="Senden").dblclick()  # a double submit
    expect(page.locator("h1")).to_have_text("Ihr Anliegen wurde erfasst")
    sid = page.locator("#submission-id").inner_text().strip()
    assert re.fullmatch(r"intake-[0-9a-f]{32}", sid)
    expect(page.locator("#effect")).to_contain_text("nächsten Korpus-Veröffentlichung")
    shot(page, "objection-receipt.png")
    [record] = service.landed()
    assert (record["submission_id"], record["user_id"], record["action"]) == (sid, "alice", "object")

    # The served form replayed later from the same browser (its cookies), even with another
    # choice: the same submission, still one record.
    replay = page.request.post(page.url, form={**served, "action": "withdraw"})
    assert replay.status == 200 and sid in replay.text() and "Widerspruch<" in replay.text()
    assert len(service.landed()) == 1
    # From another site (the browser names it in Origin): refused.
    forged = page.request.post(page.url, form={**served, "action": "withdraw"},
                               headers={"Origin": "http://evil.example"})
    assert forged.status == 403 and len(service.landed()) == 1


def test_nonuser_objects_after_confirming_the_mailed_code(service: Service, browser) -> None:
    page, expect = browser
    page.goto(service.url + "/?lang=fr")
    page.locator("#nonuser-link").click()
    expect(page.locator("h1")).to_have_text("Opposition d'une personne qui n'est pas utilisatrice")
    page.get_by_label("Nom complet").fill("Zoé Lefèvre")
    page.get_by_label("Adresse e-mail").fill("zoe@example.org")
    page.get_by_label("Numéro de téléphone").fill("+33 1 23 45 67 89")
    page.get_by_label("Pseudonymes").fill("@zoe_l, zlefevre")
    shot(page, "objection-nonuser-form.png")
    page.get_by_role("button", name="Continuer").click()
    expect(page.locator("h1")).to_have_text("Confirmez votre adresse e-mail")
    assert service.landed() == []  # nothing before the code
    [mail] = service.mails()
    assert mail["To"] == "zoe@example.org"
    code = re.search(r"\b(\d{6})\b", mail.get_payload(decode=True).decode()).group(1)
    page.get_by_label("Code de confirmation").fill("999999" if code != "999999" else "111111")
    page.get_by_role("button", name="Confirmer").click()
    expect(page.locator("#error-code")).to_have_text("Le code n'est pas correct.")
    page.get_by_label("Code de confirmation").fill(code)
    page.get_by_role("button", name="Confirmer").click()
    expect(page.locator("h1")).to_have_text("Votre demande a été enregistrée")
    sid = page.locator("#submission-id").inner_text().strip()
    [record] = service.landed()
    assert record["submission_id"] == sid and record["user_id"] is None
    assert (record["full_name"], record["email"], record["handles"]) == ("Zoé Lefèvre", "zoe@example.org",
                                                                         "@zoe_l, zlefevre")


def test_expired_and_forged_links(service: Service, browser) -> None:
    page, expect = browser
    expired = "/u/" + tokens.mint_link_token(SECRET, "alice", int(time.time()) - 60)
    response = page.goto(service.url + expired)
    assert response.status == 410
    expect(page.locator("#error")).to_contain_text("This link has expired")
    link = service.link("alice")
    forged = re.sub(r"/u/v1\.[^.]+\.", "/u/v1." + tokens._b64(b"bob") + ".", link)
    response = page.goto(forged)
    assert response.status == 400
    expect(page.locator("#error")).to_contain_text("This link is not valid")
    assert service.landed() == []


def test_missing_fields_and_oversized_input(service: Service, browser) -> None:
    page, expect = browser
    page.goto(service.url + "/other")
    page.get_by_role("button", name="Continue").click()  # the browser's own check stops it
    expect(page.locator("h1")).to_have_text("Object as a person who is not a user")
    assert service.mails() == []
    # Past the browser's checks (as a script would be): the server says what is wrong.
    page.evaluate("document.querySelectorAll('[required],[maxlength]').forEach(e => "
                  "{e.removeAttribute('required'); e.removeAttribute('maxlength'); e.type = 'text';})")
    page.get_by_label("Full name").fill("N" * 500)
    page.get_by_label("E-mail address").fill("not an address")
    page.get_by_role("button", name="Continue").click()
    expect(page.locator("#error-full_name")).to_have_text("This is too long.")
    expect(page.locator("#error-email")).to_have_text("Please enter a valid e-mail address.")
    # A body above the size limit is refused whole.
    page.evaluate("document.querySelectorAll('[maxlength]').forEach(e => e.removeAttribute('maxlength'))")
    page.get_by_label("Full name").fill("N" * 20_000)
    page.get_by_label("E-mail address").fill("a@example.org")
    page.get_by_role("button", name="Continue").click()
    expect(page.locator("#error")).to_have_text("The request is too large.")
    # The user form without a choice is shown again with the reason.
    page.goto(service.link("alice"))
    page.get_by_role("button", name="Send").click()
    expect(page.locator("#error-action")).to_have_text("Please choose one of the options.")
    assert service.landed() == [] and service.mails() == []
