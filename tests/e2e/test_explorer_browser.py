"""The event explorer in a real headless Chromium (Debian's chromium and chromedriver, through Selenium).

An auditor signs in, finds what one request did by its correlation id, opens the stream and steps it
back a version, and sees the chain's status change when a stored event is altered. The page runs
under the API's content security policy: a refused script would leave it dead, and the browser's
log is checked for refusals. A screenshot is written to tests/artifacts/ (git-ignored) and to the
test's tmp dir.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import httpx
import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from tests.conftest import SUPERADMIN
from tests.e2e.helpers import PASSWORD, ROOT, embedded_server

ARTIFACTS = ROOT / "tests" / "artifacts"
WAIT_SECONDS = 30


def _binary(*names: str) -> str:
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    pytest.fail(f"{names[0]} is not installed (Debian: apt-get install chromium chromium-driver)", pytrace=False)


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[WebDriver]:
    options = webdriver.ChromeOptions()
    options.binary_location = _binary("chromium", "chromium-browser")
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        options.add_argument(argument)
    options.add_argument(f"--user-data-dir={tmp_path / 'profile'}")
    options.add_argument("--window-size=1400,1000")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=_binary("chromedriver")))
    try:
        yield driver
    finally:
        driver.quit()


def _seed(base: str) -> str:
    """A user whose registration carries a known request id, then renamed: answers the account id."""
    with httpx.Client(base_url=base, timeout=30) as http:
        registered = http.post(
            "/api/v1/auth/register",
            json={"email": "ada@example.com", "password": PASSWORD, "first_name": "Ada", "last_name": "Lovelace"},
            headers={"X-Request-ID": "req-explorer-1"},
        )
        assert registered.status_code == 201, registered.text
        tokens = http.post("/api/v1/auth/login", json={"email": "ada@example.com", "password": PASSWORD}).json()
        renamed = http.patch(
            "/api/v1/auth/me",
            json={"first_name": "Augusta", "last_name": "King"},
            headers={"Authorization": f"Bearer {tokens['access_token']}"},
        )
        assert renamed.status_code == 200, renamed.text
        return str(registered.json()["id"])


def _alter_stored_event(database: Path, old: bytes, new: bytes) -> int:
    """Change ``old`` to ``new`` in the first stored event holding it, with SQL: answers its position."""
    with closing(sqlite3.connect(database)) as conn, conn:
        position, state = conn.execute(
            "SELECT rowid, state FROM stored_events WHERE instr(state, ?) > 0 ORDER BY rowid LIMIT 1", (old,)
        ).fetchone()
        altered = bytes(state).replace(old, new)
        conn.execute("UPDATE stored_events SET state = ? WHERE rowid = ?", (altered, position))
    return int(position)


def test_an_auditor_finds_a_request_by_correlation_id_and_steps_its_stream_back(
    tmp_path: Path, browser: WebDriver
) -> None:
    settings = {
        "SUPERADMIN_EMAIL": SUPERADMIN[0],
        "SUPERADMIN_PASSWORD": SUPERADMIN[1],
        "AUTO_VERIFY_EMAIL": "true",
    }
    with embedded_server(tmp_path, settings) as (port, _):
        base = f"http://127.0.0.1:{port}"
        account_id = _seed(base)
        wait = WebDriverWait(browser, WAIT_SECONDS)

        browser.get(f"{base}/explorer")
        browser.find_element(By.ID, "email").send_keys(SUPERADMIN[0])
        browser.find_element(By.ID, "password").send_keys(SUPERADMIN[1])
        browser.find_element(By.ID, "login-button").click()
        wait.until(ec.visibility_of_element_located((By.ID, "log")))
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#log-table tr.event"))

        # Everything the registration request did, by its correlation id (the index may need a moment).
        browser.find_element(By.ID, "f-correlation").send_keys("req-explorer-1")

        def shown_types(driver: WebDriver) -> list[str] | None:
            """The event types in the table once no page is loading (read in one step: rows are replaced)."""
            script = (
                "const t = document.getElementById('log-table');"
                "if (t.dataset.pending !== '0') return null;"
                "return [...t.querySelectorAll('tr.event')].map(r => r.dataset.type);"
            )
            found: list[str] | None = driver.execute_script(script)
            return found

        def request_found(driver: WebDriver) -> list[str] | bool:
            types = shown_types(driver)
            if types is not None and "Account.Registered" in types:
                return types
            if types is not None:
                driver.find_element(By.ID, "search").click()
            return False

        browser.find_element(By.ID, "search").click()
        types = wait.until(request_found)
        rows = browser.find_elements(By.CSS_SELECTOR, "#log-table tr.event")
        correlations = {row.find_element(By.CSS_SELECTOR, ".correlation-link").text for row in rows}
        assert correlations == {"req-explorer-1"}
        assert "Account.EmailVerificationRequested" in types or "Account.EmailVerified" in types

        # Open the account's stream from its registration, go to its latest version, then one back.
        registered = next(row for row in rows if row.get_attribute("data-type") == "Account.Registered")
        registered.find_element(By.CSS_SELECTOR, ".stream-link").click()
        wait.until(ec.visibility_of_element_located((By.ID, "stream")))
        assert browser.find_element(By.ID, "stream-id").text == account_id
        browser.find_element(By.ID, "latest-version").click()
        latest = int(browser.find_element(By.ID, "stream-latest").text)
        wait.until(ec.text_to_be_present_in_element((By.ID, "state-version"), str(latest)))
        assert json.loads(browser.find_element(By.ID, "state-json").text)["profile"]["first_name"] == "Augusta"

        browser.find_element(By.ID, "prev-version").click()
        wait.until(ec.text_to_be_present_in_element((By.ID, "state-version"), str(latest - 1)))
        before = json.loads(browser.find_element(By.ID, "state-json").text)
        assert before["version"] == latest - 1
        assert before["profile"]["first_name"] == "Ada"
        assert before["password_hash"] == "[redacted]"

        # Jump to an instant: before the stream existed (refused, said so), then long after (its latest version).
        def jump(moment: str) -> None:
            browser.execute_script("document.getElementById('at-input').value = arguments[0];", moment)
            browser.find_element(By.ID, "at-go").click()

        jump("2000-01-01T00:00:00")
        wait.until(ec.text_to_be_present_in_element((By.ID, "stream-error"), "begins after"))
        jump("2999-01-01T00:00:00")
        wait.until(ec.text_to_be_present_in_element((By.ID, "state-version"), str(latest)))
        browser.find_element(By.ID, "prev-version").click()
        wait.until(ec.text_to_be_present_in_element((By.ID, "state-version"), str(latest - 1)))
        # The chain's badge: the server recomputed every link of the log (GET /api/v1/audit/verify).
        wait.until(ec.text_to_be_present_in_element((By.ID, "chain-status"), "chain verified"))

        ARTIFACTS.mkdir(exist_ok=True)
        assert browser.save_screenshot(str(tmp_path / "explorer.png"))
        assert browser.save_screenshot(str(ARTIFACTS / "explorer.png"))

        # Someone with the database file alters a stored event: the badge, checked again, says where.
        # (Personal fields are sealed: it alters a field every event stores in clear.)
        altered = _alter_stored_event(tmp_path / "data" / "events.sqlite3", b'"timestamp"', b'"timestamq"')
        browser.find_element(By.ID, "chain-status").click()
        wait.until(ec.text_to_be_present_in_element((By.ID, "chain-status"), f"chain broken at position {altered}"))

        logged = browser.get_log("browser")
    refused = [entry["message"] for entry in logged if "Content Security Policy" in entry["message"]]
    assert refused == [], refused
