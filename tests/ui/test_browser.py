"""A real browser on the real UI: headless Chromium (selenium) loads the Streamlit app served by
``streamlit run`` on localhost against a real API, asks the sample question, waits for the cited answer,
opens the Graph page, and saves screenshots to docs/screenshots/ (chat.png, graph.png)."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.ui.conftest import REPO, SAMPLE_QUESTION

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
SCREENSHOTS = REPO / "docs" / "screenshots"
WAIT_S = 120

pytestmark = pytest.mark.skipif(
    not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()),
    reason="needs Debian's chromium and chromium-driver (scripts/test.sh installs them)",
)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def ui_url(api_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = _free_port()
    command = [sys.executable, "-m", "streamlit", "run", str(REPO / "ui" / "streamlit_app.py")]
    command += ["--server.port", str(port), "--server.headless", "true", "--server.address", "127.0.0.1"]
    command += ["--browser.gatherUsageStats", "false", "--client.toolbarMode", "viewer", "--", "--api", api_url]
    log = (tmp_path_factory.mktemp("streamlit") / "streamlit.log").open("w")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=REPO)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/_stcore/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert server.poll() is None and time.monotonic() < deadline, "streamlit did not start"
            time.sleep(0.3)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1000"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def test_chat_answer_with_citations_and_graph_in_a_real_browser(ui_url: str, browser) -> None:  # type: ignore[no-untyped-def]
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(browser, WAIT_S)
    browser.get(ui_url)
    box = wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, "[data-testid='stChatInputTextArea']")))
    box.send_keys(SAMPLE_QUESTION)
    box.send_keys(Keys.ENTER)
    wait.until(  # the answer is in once its sources are listed under it
        ec.visibility_of_element_located((By.XPATH, "//*[@data-testid='stExpander']//summary[contains(., '[1]')]"))
    )
    answer = browser.find_elements(By.CSS_SELECTOR, "[data-testid='stChatMessage']")[-1].text
    cited = re.search(r"Bergen[^\[]*\[(\d+)\]", answer)  # the answering sentence's citation
    assert cited is not None, answer
    number = cited.group(1)
    citation = browser.find_element(By.XPATH, f"//*[@data-testid='stExpander']//summary[contains(., '[{number}]')]")
    citation.click()  # opens on the chunk's text
    wait.until(
        ec.visibility_of_element_located((By.XPATH, "//*[@data-testid='stExpanderDetails'][contains(., 'Bergen')]"))
    )
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(SCREENSHOTS / "chat.png"))

    browser.find_element(By.XPATH, "//*[@data-testid='stSidebarNav']//a[contains(., 'Graph')]").click()
    search = wait.until(ec.element_to_be_clickable((By.XPATH, "//input[@aria-label='Find an entity']")))
    search.send_keys("Ingrid Solberg")
    search.send_keys(Keys.ENTER)
    wait.until(ec.visibility_of_element_located((By.XPATH, "//h3[contains(., 'Ingrid Solberg')]")))
    drawing = "iframe[title*='cytoscape'], [data-testid='stGraphVizChart']"
    wait.until(ec.visibility_of_element_located((By.CSS_SELECTOR, drawing)))  # the entity's neighbourhood
    browser.find_element(By.XPATH, "//label[contains(., 'Last answer')]").click()
    wait.until(ec.invisibility_of_element_located((By.XPATH, "//h3[contains(., 'Ingrid Solberg')]")))
    shown = wait.until(ec.visibility_of_element_located((By.CSS_SELECTOR, drawing)))
    browser.execute_script("arguments[0].scrollIntoView({block: 'end'});", shown)
    time.sleep(3)  # the graph lays itself out (an animation) before the picture is taken
    browser.save_screenshot(str(SCREENSHOTS / "graph.png"))
    assert (SCREENSHOTS / "chat.png").stat().st_size > 10_000 and (SCREENSHOTS / "graph.png").stat().st_size > 10_000
