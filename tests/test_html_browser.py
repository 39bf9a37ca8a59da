"""The HTML report in a real browser: Debian's chromium, headless, driven through chromedriver by selenium.

The browser is installed by the test itself when it is missing and the user may
install it (root with apt-get, as in CI). Elsewhere the tests are skipped with
the reason; in CI (``CI=true``) they fail instead, so a missing browser never
passes unnoticed. Screenshots go to ``test-artifacts/`` (ignored by git).
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest
from selenium import webdriver
from selenium.common.exceptions import NoAlertPresentException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.select import Select
from selenium.webdriver.support.ui import WebDriverWait

import dedup
from dedup import schema as S
from dedup.htmlreport import write_html
from dedup.locations import shown_path
from tests.conftest import DOUBLED, INTRO, SECOND, SEEDS
from tests.test_htmlreport import HOSTILE

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
PACKAGES = ["chromium", "chromium-driver"]
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1300,1000",
]
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
CLAUSE = "- und steht ihm bei, als er mit illegalen Kickboxkämpfen ein Zubrot findet"


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("true", "1", "yes")


def _install_browser() -> str | None:
    """Install chromium and chromedriver from Debian when missing; the reason it cannot be done, if so."""
    if CHROMIUM.exists() and CHROMEDRIVER.exists():
        return None
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        return f"{CHROMIUM} or {CHROMEDRIVER} is missing, and installing them needs root and apt-get"
    env = os.environ | {"DEBIAN_FRONTEND": "noninteractive"}
    wait = ["-o", "DPkg::Lock::Timeout=600"]  # another apt run on the machine: wait for it rather than fail
    for command in (["apt-get", *wait, "update", "-q"], ["apt-get", *wait, "install", "-y", "-q", *PACKAGES]):
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=1800, check=False)
        if done.returncode != 0:
            return f"{' '.join(command)} failed with exit code {done.returncode}: {done.stderr.strip()[-2000:]}"
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        return f"apt-get installed {', '.join(PACKAGES)} but {CHROMIUM} or {CHROMEDRIVER} is still missing"
    return None


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebDriver]:
    problem = _install_browser()
    if problem is not None:
        if _in_ci():
            pytest.fail(f"the browser test must run in CI: {problem}")
        pytest.skip(problem)
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in [*FLAGS, f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"]:
        options.add_argument(flag)
    # An explicit driver path: selenium then looks nothing up on the network.
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def _open(driver: WebDriver, page: Path) -> None:
    driver.set_window_size(1300, 1000)
    driver.get(page.as_uri())
    WebDriverWait(driver, 30).until(lambda d: d.find_element(By.ID, "count").text != "")


def _count(driver: WebDriver) -> str:
    return driver.find_element(By.ID, "count").text


def _listed(driver: WebDriver) -> list[int]:
    items = driver.find_elements(By.CSS_SELECTOR, "#cluster-list > li")
    return [int(item.get_attribute("data-cluster") or -1) for item in items]


def _set(driver: WebDriver, element_id: str, value: str) -> None:
    """Replace what a field holds by typing, as a person would."""
    field = driver.find_element(By.ID, element_id)
    field.send_keys(Keys.CONTROL, "a")
    field.send_keys(Keys.DELETE)
    if value:
        field.send_keys(value)


def _wait_for_count(driver: WebDriver, text: str) -> None:
    WebDriverWait(driver, 10).until(lambda d: _count(d) == text, message=f"count never became {text!r}")


def _screenshot(driver: WebDriver, name: str) -> Path:
    """The whole page as a PNG in test-artifacts/."""
    ARTIFACTS.mkdir(exist_ok=True)
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1300, min(int(height) + 40, 8000))
    target = ARTIFACTS / name
    driver.save_screenshot(str(target))
    print(f"screenshot: {target}")
    return target


def test_seeds_report_shows_clusters_charts_and_diffs(
    browser: WebDriver, seed_scan: dedup.ScanResult, tmp_path: Path
) -> None:
    page = write_html(seed_scan, tmp_path / "seeds.html")
    _open(browser, page)
    clusters = seed_scan.clusters
    assert sorted(_listed(browser)) == sorted(clusters[S.CLUSTER].to_list())
    assert _count(browser) == f"{clusters.height} clusters"

    charts = {svg.get_attribute("data-chart"): svg for svg in browser.find_elements(By.CSS_SELECTOR, "svg.chart")}
    assert set(charts) == {"cluster-sizes", "similarities", "duplicated-share", "containment"}
    for name, svg in charts.items():
        assert svg.size["width"] > 200 and svg.size["height"] > 50, name
        assert svg.find_elements(By.CSS_SELECTOR, "rect.bar, rect.cell"), name
    assert f"{INTRO} is" in browser.find_element(By.ID, "documents").text
    assert f"contained in {DOUBLED}" in browser.find_element(By.ID, "documents").text

    # The doubled synopsis is open at a glance, its changes marked on each side.
    (near_id,) = clusters.filter(pl.col(S.KIND) == S.NEAR)[S.CLUSTER].to_list()
    near = browser.find_element(By.CSS_SELECTOR, f'li[data-cluster="{near_id}"]')
    WebDriverWait(browser, 10).until(lambda d: near.find_elements(By.CSS_SELECTOR, ".diff"))
    deleted = [d.text.strip() for d in near.find_elements(By.CSS_SELECTOR, ".diff del")]
    inserted = [i.text.strip() for i in near.find_elements(By.CSS_SELECTOR, ".diff ins")]
    assert deleted == ["fünfjährigen", "beide wieder", "instinktiv", "sich"]
    assert inserted == ["fünfjährigem", "sie", CLAUSE]
    places = [p.text for p in near.find_elements(By.CSS_SELECTOR, ".places li")]
    # Each occurrence is named by its file (from the working folder), line and column.
    intro, doubled = shown_path(str(SEEDS / INTRO)), shown_path(str(SEEDS / DOUBLED))
    assert places == [f"{intro}:4:1first", f"{intro}:5:1variant 1", f"{doubled}:11:1first", f"{doubled}:13:1variant 1"]
    screenshot = _screenshot(browser, "html-report-seeds.png")
    assert screenshot.stat().st_size > 10_000


def test_search_and_filters_narrow_the_list(browser: WebDriver, seed_scan: dedup.ScanResult, tmp_path: Path) -> None:
    _open(browser, write_html(seed_scan, tmp_path / "seeds.html"))
    clusters = seed_scan.clusters
    total = clusters.height

    def expect(frame: pl.DataFrame) -> None:
        wanted = sorted(frame[S.CLUSTER].to_list())
        label = f"{total} clusters" if len(wanted) == total else f"{len(wanted)} of {total} clusters match"
        _wait_for_count(browser, label)
        assert sorted(_listed(browser)) == wanted

    _set(browser, "search", "kickbox")  # case-insensitive, inside the text
    expect(clusters.filter(pl.col(S.KIND) == S.NEAR))
    _set(browser, "search", SECOND[:12])  # a document's name finds the clusters that stand in it
    in_second = seed_scan.blocks.filter(pl.col(S.DOC_ID) == SECOND)[S.CLUSTER].drop_nulls().implode()
    expect(clusters.filter(pl.col(S.CLUSTER).is_in(in_second)))
    _set(browser, "search", "")
    expect(clusters)
    Select(browser.find_element(By.ID, "kind")).select_by_value("near")
    expect(clusters.filter(pl.col(S.KIND) == S.NEAR))
    Select(browser.find_element(By.ID, "kind")).select_by_value("")
    Select(browser.find_element(By.ID, "scope")).select_by_value("within-doc")
    expect(clusters.filter(pl.col(S.SCOPE) == S.WITHIN_DOC))
    Select(browser.find_element(By.ID, "scope")).select_by_value("")
    _set(browser, "min-size", "3")
    expect(clusters.filter(pl.col(S.N_BLOCKS) >= 3))
    _set(browser, "min-size", "2")
    browser.find_element(By.ID, "short").click()
    expect(clusters.filter(~pl.col(S.SHORT)))


def test_hostile_text_stays_text(browser: WebDriver, tmp_path: Path) -> None:
    pages = tmp_path / "pages"
    pages.mkdir()
    for name in ('a<i>"x".txt', "c&d.txt"):
        (pages / name).write_text(f"{HOSTILE}\n\nSomething else entirely in {name}\n", encoding="utf-8")
    with dedup.scan([pages]) as result:
        page = write_html(result, tmp_path / "hostile.html")
    _open(browser, page)
    with pytest.raises(NoAlertPresentException):
        browser.switch_to.alert.text  # noqa: B018 - reading it is what raises
    assert browser.execute_script("return window.pwned === undefined && document.images.length === 0")
    excerpts = [e.text for e in browser.find_elements(By.CSS_SELECTOR, "#cluster-list .excerpt")]
    assert HOSTILE in excerpts
    assert 'a<i>"x".txt' in browser.find_element(By.ID, "documents").text


def _many_clusters(folder: Path, count: int) -> None:
    """``count`` distinct paragraphs, each in exactly two documents: ``count`` exact clusters."""
    rng = random.Random(6)
    vocabulary = [f"wort{n}" for n in range(2000)]
    paragraphs = [" ".join(rng.choices(vocabulary, k=12)) + f" absatz{n}." for n in range(count)]
    per_doc, docs = 200, count // 100
    for doc in range(docs):
        mine = [paragraphs[(doc * 100 + k) % count] for k in range(per_doc)]
        (folder / f"doc{doc:04d}.txt").write_text("\n".join(mine) + "\n", encoding="utf-8")


def test_ten_thousand_clusters_open_one_page_at_a_time(browser: WebDriver, tmp_path: Path) -> None:
    pages = tmp_path / "many"
    pages.mkdir()
    _many_clusters(pages, 10_000)
    with dedup.scan([pages]) as result:
        assert result.clusters.height == 10_000
        page = write_html(result, tmp_path / "many.html")
    _open(browser, page)
    assert _count(browser) == "10,000 clusters"
    first = _listed(browser)
    assert len(first) == 50  # one page in the document, not ten thousand rows
    assert browser.find_element(By.ID, "page").text == "Page 1 of 200"
    browser.find_element(By.ID, "next").click()
    assert browser.find_element(By.ID, "page").text == "Page 2 of 200"
    second = _listed(browser)
    assert len(second) == 50 and not set(first) & set(second)
    _set(browser, "search", "absatz9999.")
    _wait_for_count(browser, "1 of 10,000 clusters match")
    assert browser.find_element(By.ID, "page").text == "Page 1 of 1"
