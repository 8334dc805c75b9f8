"""The web page in a real browser: Debian's chromium-headless-shell driven by Playwright
(`executable_path`, never `playwright install`). Skipped, saying why, where it is absent.

An agency signs in with its token, sends a return with an error and sees the cell in the
findings table (Cyrillic text rendered with a real font), downloads the marked workbook,
sends the corrected file and sees it stored; an NSC reviewer returns it with a comment and
the agency sees the comment in its calendar. Nothing is requested from another host."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from openpyxl import load_workbook
from serve_helpers import ThreadServer, returns, seed_warehouse

CHROMIUM = os.environ.get("GBVSTATS_CHROMIUM") or shutil.which("chromium-headless-shell") \
    or "/usr/bin/chromium-headless-shell"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run"]

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(),
    reason=f"no chromium-headless-shell at {CHROMIUM} (apt-get install chromium-headless-shell; "
           "or set GBVSTATS_CHROMIUM)")


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright (dev dependency) is not installed")
    with sync_api.sync_playwright() as p:
        try:
            b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        except Exception as exc:  # noqa: BLE001 - a broken browser install is a skip, said why
            pytest.skip(f"chromium-headless-shell does not start: {exc}")
        yield b
        b.close()


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    folder = tmp_path_factory.mktemp("serve_browser")
    return seed_warehouse(folder / "seed"), returns(folder / "returns")


@pytest.fixture
def site(seeded, tmp_path):
    seed, files = seeded
    with ThreadServer(seed.copy_to(tmp_path / "wh"), linger=0.2) as server:
        yield server, seed, files


def sign_in(page, url: str, token: str) -> None:
    page.goto(url + "/")
    assert page.url.endswith("/sign-in")
    page.get_by_label("Токен").fill(token)
    page.get_by_label("Токен").press("Enter")  # the keyboard is enough
    page.wait_for_url("**/home")


def platform_fonts(page, selector: str) -> list[dict]:
    """The fonts the browser really drew the element's text with (DevTools protocol)."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")
    root = cdp.send("DOM.getDocument")["root"]["nodeId"]
    node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
    return cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]


def test_an_agency_sends_corrects_and_reads_the_nscs_comment(browser, site, tmp_path):
    server, seed, files = site
    requested: list[str] = []
    agency = browser.new_context(locale="ru-RU", accept_downloads=True, viewport={"width": 390, "height": 844})
    page = agency.new_page()
    page.on("request", lambda r: requested.append(r.url))
    sign_in(page, server.url, seed.tokens["moi"])
    cookie = next(c for c in agency.cookies() if c["name"] == "gbvstats_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert page.locator("html").get_attribute("lang") == "ru"

    # a return with an error: refused, the cell named, in Russian, drawn with a real font
    page.get_by_label("Файл книги").set_input_files(str(files["bad"]))
    page.get_by_role("button", name="Отправить").click()
    page.wait_for_url("**/attempts/*")
    assert "Отклонено" in page.locator(".verdict").inner_text()
    row = page.locator("table.findings tbody tr").filter(has_text="GBV-R001")
    assert row.locator("td.cell").inner_text().splitlines()[0] == "T1!C6"  # then the other cells of the rule
    message = row.locator("td").nth(2).inner_text()
    assert "строк" in message
    fonts = platform_fonts(page, "table.findings tbody tr td:nth-child(3)")
    assert fonts and all(f["glyphCount"] > 0 and f["familyName"] != "LastResort" for f in fonts), fonts
    # readable on a narrow screen: nothing wider than the window but the scrolling tables
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")

    with page.expect_download() as download:
        page.get_by_role("link", name="Скачать книгу с отмеченными замечаниями").click()
    marked = tmp_path / download.value.suggested_filename
    download.value.save_as(marked)
    assert marked.name == files["bad"].stem + ".feedback.xlsx"
    assert "GBV-R001" in load_workbook(marked)["T1"]["C6"].comment.text

    # the corrected file is stored
    page.get_by_label("Файл книги").set_input_files(str(files["fixed"]))
    page.get_by_role("button", name="Отправить").click()
    page.wait_for_url("**/submissions/*")
    assert page.locator(".verdict").inner_text() == "Получено и сохранено."
    submission = page.url.rsplit("/", 1)[1].split("?")[0]

    # an NSC reviewer returns it with a comment
    nsc = browser.new_context(locale="ru-RU")
    review = nsc.new_page()
    review.on("request", lambda r: requested.append(r.url))
    sign_in(review, server.url, seed.tokens["nsc"])
    review.goto(server.url + "/home?year=2024")
    review.get_by_role("link", name=f"#{submission}").first.click()
    review.get_by_label("Комментарий").fill("Строка 03: сумма по возрастам не сходится <b>проверьте</b>")
    review.get_by_role("button", name="Вернуть на исправление").click()
    assert f"Отправка № {submission} возвращена" in review.locator(".flash").inner_text()

    # the agency sees the comment in its calendar, as text
    page.goto(server.url + "/home?year=2024")
    returned = page.locator("table.calendar tbody tr").filter(has_text="возвращён на исправление")
    assert returned.count() == 1
    assert "Строка 03: сумма по возрастам не сходится <b>проверьте</b>" in returned.inner_text()
    assert page.locator("table.calendar b").count() == 0  # markup stayed text

    assert requested and all(u.startswith(server.url) for u in requested), requested
    agency.close()
    nsc.close()


def test_the_sign_in_page_in_kyrgyz_is_keyboard_usable(browser, site):
    server, seed, _ = site
    context = browser.new_context(locale="ky-KG")
    page = context.new_page()
    page.goto(server.url + "/sign-in?lang=ky")
    assert page.get_by_role("heading", name="Кирүү").is_visible()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"  # "skip to content" first
    page.get_by_label("Токен").fill("gbv_0123abcd_" + "E" * 43)
    page.get_by_role("button", name="Кирүү").click()
    assert "токен таанылган жок" in page.locator(".error").inner_text()
    context.close()
