"""The LA web pages in headless Chromium against the real WSGI server (cheroot), mounted under /la/.

Debian's chromium and chromium-driver only: Selenium gets /usr/bin/chromedriver explicitly and
never downloads a browser. axe-core (tests/browser, ``npm ci --prefix tests/browser``) is injected
into each page; screenshots go to test-artifacts/web/.
"""
from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pytest

from conftest import require_or_skip
from test_web_support import PASSWORD, make_context, seed_review

ROOT = Path(__file__).resolve().parents[1]
CHROMEDRIVER, CHROMIUM = "/usr/bin/chromedriver", "/usr/bin/chromium"
AXE = ROOT / "tests" / "browser" / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = ROOT / "test-artifacts" / "web"


def _browser_available() -> bool:
    return os.path.exists(CHROMEDRIVER) and os.path.exists(CHROMIUM) and AXE.exists()


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The web app mounted at /la/ under cheroot on 127.0.0.1, over a seeded SQLite database."""
    require_or_skip(_browser_available(), "Chromium, chromedriver and axe-core (npm ci --prefix tests/browser)")
    from cheroot import wsgi
    from werkzeug.exceptions import NotFound
    from werkzeug.middleware.dispatcher import DispatcherMiddleware

    from b2b_soap.db import upgrade
    from b2b_soap.web import make_web_app
    tmp = tmp_path_factory.mktemp("web-browser")
    url = f"sqlite:///{tmp / 'b2b.db'}"
    upgrade(url)
    world = make_context(tmp, url)
    ids = seed_review(world.ctx, world.base_ids)
    app = DispatcherMiddleware(NotFound(), {"/la": make_web_app(world.ctx)})
    server = wsgi.Server(("127.0.0.1", 0), app, numthreads=4)
    server.prepare()
    thread = threading.Thread(target=server.serve, daemon=True)
    thread.start()
    port = server.bind_addr[1]
    yield {"url": f"http://127.0.0.1:{port}/la", "ids": ids, "world": world}
    server.stop()
    thread.join(10)
    world.ctx.close()


@pytest.fixture(scope="module")
def driver(site, tmp_path_factory):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-first-run", "--window-size=1280,1000",
                 f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"):
        options.add_argument(flag)
    browser = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    browser.set_script_timeout(60)
    yield browser
    browser.quit()


class Pages:
    """Small helpers over the driver: go, fill, press, check accessibility, screenshot."""

    def __init__(self, driver, url: str):
        self.driver, self.url = driver, url

    def go(self, path: str) -> None:
        self.driver.get(self.url + path)

    def find(self, css: str):
        from selenium.webdriver.common.by import By
        return self.driver.find_element(By.CSS_SELECTOR, css)

    def find_all(self, css: str):
        from selenium.webdriver.common.by import By
        return self.driver.find_elements(By.CSS_SELECTOR, css)

    def _navigate(self, action) -> None:
        """Do ``action`` and wait until the page it leads to has loaded (every action is a form post).

        A marker set on the old page's window is gone once the browser shows the next page.
        """
        from selenium.common.exceptions import WebDriverException
        from selenium.webdriver.support.wait import WebDriverWait
        self.driver.execute_script("window.b2bOldPage = true;")
        action()
        WebDriverWait(self.driver, 30, ignored_exceptions=(WebDriverException,)).until(
            lambda driver: driver.execute_script(
                "return window.b2bOldPage === undefined && document.readyState === 'complete';"))

    def click(self, css: str) -> None:
        """Follow a link or press a button found by ``css``."""
        self._navigate(lambda: self.find(css).click())

    def press(self, text: str, within: str = "main") -> None:
        """Press the button labelled ``text``."""
        from selenium.webdriver.common.by import By
        self._navigate(lambda: self.find(within).find_element(
            By.XPATH, f".//button[normalize-space(.)={json.dumps(text)}]").click())

    def fill(self, field_id: str, value: str) -> None:
        element = self.find(f"#{field_id}")
        element.clear()
        element.send_keys(value)

    @property
    def text(self) -> str:
        return self.find("body").text

    @property
    def h1(self) -> str:
        return self.find("h1").text

    def sign_in(self, username: str = "reviewer") -> None:
        self.go("/sign-in")
        self.fill("username", username)
        self.fill("password", PASSWORD)
        self.press("Sign in")

    def sign_out(self) -> None:
        self.press("Sign out", within="header")

    def check(self, name: str) -> dict:
        """Screenshot, then axe-core: it must have run rules, and found no violation of any impact."""
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.driver.save_screenshot(str(ARTIFACTS / f"{name}.png"))
        self.driver.execute_script(AXE.read_text(encoding="utf-8"))
        result = self.driver.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "axe.run(document).then(r => done({passes: r.passes.length, violations: r.violations.map("
            "v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map(n => n.target.join(' '))}))}),"
            " e => done({error: String(e)}));")
        assert "error" not in result, result
        assert result["passes"] > 0, "axe-core checked no rules"
        bad = result["violations"]
        assert not bad, f"{name}: {json.dumps(bad, indent=1)}"
        return result


@pytest.fixture
def pages(driver, site):
    driver.delete_all_cookies()
    return Pages(driver, site["url"])


def test_sign_in_and_out(pages):
    pages.go("/")
    assert pages.h1 == "Sign in"
    pages.check("sign-in")
    pages.sign_in()
    assert "Signed in as Reviewer" in pages.text
    pages.check("home")
    pages.sign_out()
    assert "You have signed out" in pages.text
    pages.go("/defaults/")
    assert pages.h1 == "Sign in"


def test_admin_pages_are_accessible(pages, site):
    pages.sign_in()
    base = site["world"].base_ids["9991001"]
    for name, path, heading in (("files", "/files/", "Files"), ("file-failed", f"/files/{site['ids']['failed_file']}", "students-2.xml"),
                                ("tasks", f"/tasks/?base={base}", "Scheduled tasks"),
                                ("task-new", f"/tasks/new?base={base}", "Add a task"),
                                ("jobs", "/jobs/", "Maintenance jobs"), ("alerts", "/alerts/", "Alerts"),
                                ("defaults", "/defaults/", "System defaults")):
        pages.go(path)
        assert pages.h1 == heading, (path, pages.text[:500])
        pages.check(name)


def test_defaults_are_validated_and_saved(pages):
    pages.sign_in()
    pages.go("/defaults/")
    pages.fill("B2B_S_AGE", "500")
    pages.press("Save defaults")
    assert "There is a problem" in pages.text and "between 0 and 120" in pages.text
    pages.check("defaults-error")
    pages.fill("B2B_S_AGE", "19")
    pages.press("Save defaults")
    assert "The system defaults have been saved" in pages.text
    assert pages.find("#B2B_S_AGE").get_attribute("value") == "19"
    pages.fill("B2B_S_AGE", "18")
    pages.press("Save defaults")


def test_form_without_csrf_token_is_refused(pages):
    pages.sign_in()
    pages.go("/defaults/")
    pages.driver.execute_script("document.querySelector('main input[name=csrf_token]').remove()")
    pages.fill("CARER_MIN", "17")
    pages.press("Save defaults")
    assert pages.h1 == "The form could not be sent"
    pages.check("csrf-refused")
    pages.go("/defaults/")
    assert pages.find("#CARER_MIN").get_attribute("value") == "16"


def test_user_without_permission_neither_sees_nor_reaches_pages(pages):
    pages.sign_in("reader")
    links = [a.text for a in pages.find_all("#navigation a")]
    assert "Unmatched" in links and "Conflicts" not in links and "System defaults" not in links
    pages.go("/conflicts/")
    assert pages.h1 == "You do not have permission to see this page"
    pages.check("forbidden")


def test_review_journey(pages, site):
    """Sign in, match a pupil, create a person, resolve conflicts one by one and in bulk, see the report."""
    ids = site["ids"]
    pages.sign_in()
    pages.go("/unmatched/")
    assert pages.h1 == "Unmatched pupils"
    pages.check("unmatched")
    pages.click(f"a[href$='/unmatched/{ids['amy']}']")
    assert pages.h1 == "Amy Smith" and "Candidate 2" in pages.text and "Carers and contacts" in pages.text
    pages.check("unmatched-record")
    pages.click(f"form[action$='/unmatched/{ids['amy']}/match'] button")
    assert "The record has been matched" in pages.text and "Smith, Amy" not in pages.text

    pages.go(f"/unmatched/{ids['searcher']}/search?surname=jon")
    assert "Jones, Ben" in pages.text
    pages.check("unmatched-search")
    pages.fill("dob-day", "31")
    pages.fill("dob-month", "2")
    pages.fill("dob-year", "2014")
    pages.press("Search")
    assert "Date of birth must be a real date" in pages.text
    pages.check("unmatched-search-date-error")

    pages.go(f"/unmatched/{ids['newbie']}")
    pages.check("unmatched-no-candidates")
    pages.click(f"form[action$='/unmatched/{ids['newbie']}/create'] button")
    assert "A new person has been created and matched" in pages.text

    pages.go("/conflicts/")
    assert pages.h1 == "Matched with Conflicts"
    pages.check("conflicts")
    pages.go(f"/conflicts/person/{ids['ben_person']}")
    pages.check("conflicts-person")
    pages.click("form[action*='/resolve'] button[value=take]")
    assert "1 conflict resolved: took the incoming value" in pages.text

    pages.go("/conflicts/")
    for label in pages.find_all("label[for^=conflict-]"):
        if "Cat" in label.get_attribute("textContent"):
            label.click()
    pages.click("button[value=keep]")
    assert "2 conflicts resolved: kept the LA value" in pages.text

    pages.go("/reports/")
    pages.check("reports")
    pages.click("a[href$='/reports/9991001']")
    assert pages.find("#waiting-unmatched").text == "2"  # 4 waiting, Amy matched and Zara created
    assert pages.find("#open-conflicts").text == "1"
    assert pages.find_all("svg.b2b-chart rect")
    pages.check("report-base")
    pages.sign_out()
    assert "You have signed out" in pages.text


def test_setup_pages_are_accessible_and_toggle_a_base(pages, site):
    pages.sign_in()
    for name, path, heading in (("setup", "/setup/", "Set-up"), ("setup-bases", "/setup/bases", "Bases"),
                                ("setup-users", "/setup/users", "Users"),
                                ("setup-groups", "/setup/groups", "Groups and permissions"),
                                ("setup-licence", "/setup/licence", "Licence"),
                                ("setup-hierarchies", "/setup/hierarchies", "Aspect hierarchies"),
                                ("setup-suspense", "/setup/suspense", "Attainment suspense")):
        pages.go(path)
        assert pages.h1 == heading, (path, pages.text[:500])
        pages.check(name)
    from test_web_setup import _suspense_items
    item = _suspense_items(site["world"])[0]
    pages.go("/setup/suspense")
    pages.check("setup-suspense-items")
    pages.go(f"/setup/suspense/{item}")
    assert pages.h1 == f"Suspense item {item}"
    pages.check("setup-suspense-item")
    pages.press("Discard this result")
    assert "The result has been discarded" in pages.text
    pages.go("/setup/bases")
    pages.press("Clear the flag of 9992002")
    assert "Base 9992002 is no longer a B2B Student Base" in pages.text
    assert pages.find("#flag-9992002").text == "No"
    pages.press("Set the flag of 9992002")
    assert pages.find("#flag-9992002").text == "Yes"


def test_record_walk_create_decide_contacts_undo_and_rematch(pages, site):
    """A pupil with no candidate and two contacts: create a person, decide both contacts, undo the
    create, match, then re-match to another person. No axe finding of any impact on these pages."""
    from datetime import date

    from sqlalchemy import select

    from b2b_soap.db import CarerLink, IncomingRecord, session_scope
    from processing_support import add_person, contact, pupil, upload_and_process
    world = site["world"]
    kid = pupil("Quentin", "Oyelaran", date(2016, 9, 9),
                contacts=[contact("Ife", "Oyelaran"), contact("Sol", "Oyelaran", relationship="FAT", gender="M")])
    file_id = upload_and_process(world.ctx, world.base_ids["9992002"], [kid], "9992002")
    with session_scope(world.ctx.sessions) as session:
        ids = dict(session.execute(select(IncomingRecord.forename, IncomingRecord.id)
                                   .where(IncomingRecord.file_id == file_id)).all())
    wrong = add_person(world.ctx, forename="Quinn", surname="Oyelaran", dob=date(2016, 9, 9), gender="M")
    right = add_person(world.ctx, forename="Quentin", surname="Oyelaran-Smith", dob=date(2016, 9, 9), gender="M")
    record = f"/unmatched/{ids['Quentin']}"
    pages.sign_in()
    pages.go("/unmatched/?kind=both")
    assert "Oyelaran, Ife" in pages.text and "Oyelaran, Quentin" in pages.text
    pages.check("unmatched-pupils-and-contacts")
    pages.go(record)
    assert pages.h1 == "Quentin Oyelaran" and "The matching found no candidate" in pages.text
    assert "09 Sep 2016" in pages.text and "EX1 2AB" in pages.text and "Former UPN" in pages.text
    pages.check("record-no-candidates-two-contacts")

    pages.press("Create a new person from Quentin Oyelaran")
    assert "A new person has been created" in pages.text and "2 carers and contacts of this pupil" in pages.text
    pages.check("record-contacts-waiting")
    pages.press("Create a new person from Ife Oyelaran")
    assert "1 carer or contact of this pupil is still waiting" in pages.text
    pages.fill(f"reason-{ids['Sol']}", "not known to us")
    pages.press("Reject Sol Oyelaran")
    assert "still waiting" not in pages.text and "The record has been rejected" in pages.text

    pages.click(f"a[href$='{record}/reopen']")
    assert pages.h1 == "Undo this decision" and "is removed: nothing else refers to them" in pages.text
    assert "as PAM of Quentin Oyelaran" in pages.text
    pages.check("undo-confirmation")
    pages.press("Undo the decision")
    assert "The decision has been undone" in pages.text and "Waiting for a decision" in pages.text
    pages.check("record-reopened")

    pages.go(f"{record}/search?surname=Oyelaran")
    pages.press("Match to Quinn Oyelaran")
    assert "The record has been matched" in pages.text
    pages.go(record)
    pages.check("record-matched")
    pages.fill(f"person_id-{ids['Quentin']}", str(right))
    pages.press("Check what a re-match changes for Quentin Oyelaran")
    assert pages.h1 == "Re-match to another person" and f"person {wrong}" in pages.text
    pages.check("rematch-confirmation")
    pages.press("Undo and re-match")
    assert "matched to the other person" in pages.text and f"(person {right})" in pages.text
    with session_scope(world.ctx.sessions) as session:
        assert session.get(IncomingRecord, ids["Quentin"]).person_id == right
        ife = session.get(IncomingRecord, ids["Ife"]).person_id
        assert session.get(CarerLink, (right, ife)) is not None and session.get(CarerLink, (wrong, ife)) is None


def test_all_conflicts_of_a_filter_then_a_bad_filter(pages, site):
    """6,000 conflicts at one base: "all" leads to a confirmation with the exact count, then all are resolved;
    a typed person number that is not one is an error on the form. Runs last: it adds rows to the shared site."""
    from sqlalchemy import func, select

    from b2b_soap.db import Conflict
    from test_web_lists import MANY, add_conflicts
    world = site["world"]
    base_id = world.base_ids["9992002"]

    def count(status: str) -> int:
        with world.ctx.sessions() as s:
            return s.scalar(select(func.count(Conflict.id)).where(Conflict.status == status,
                                                                  Conflict.base_id == base_id))
    add_conflicts(world, MANY)
    shown, taken = count("open"), count("taken")  # earlier tests of this site may have left a few
    assert shown >= MANY
    pages.sign_in()
    pages.check("home")
    pages.go("/unmatched/?sort=name")
    pages.check("unmatched-by-name")
    pages.go("/conflicts/?base=9992002")
    assert f"All {shown} conflicts this filter shows" in pages.text
    pages.check("conflicts-many")
    pages.find("label[for=scope-filter]").click()
    pages.press("Take incoming values")
    assert pages.h1 == f"Take incoming for all {shown} conflicts?"
    assert pages.find("#confirm-count").text == str(shown) and "base 9992002" in pages.find("#confirm-filter").text
    pages.check("conflicts-confirm")
    pages.press(f"Take incoming for all {shown}")
    assert f"{shown} conflicts resolved: took the incoming value" in pages.text
    assert (count("open"), count("taken")) == (0, taken + shown)
    pages.go("/conflicts/")
    pages.fill("person", "abc")
    pages.press("Filter")
    assert "There is a problem" in pages.text and "Person number must be a whole number" in pages.text
    assert "this filter shows" not in pages.text
    pages.check("conflicts-bad-filter")
