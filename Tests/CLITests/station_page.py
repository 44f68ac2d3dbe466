#!/usr/bin/python3
"""Watches the station's status page in a real browser (headless Chromium via Selenium).

Usage: station_page.py URL EXPECT_JSON SCREENSHOT_PREFIX LANG (e.g. zh-CN or en-US)

EXPECT_JSON maps a camera serial to the states its tile must show, in order, e.g.
{"A600001": ["collecting", "done"], "A600002": ["error"]}. The states are read from the page
itself (each tile's data-state and its visible label), not from the API. Prints "ready" once
the page is open, then one line per state change; exits 0 when every tile went through its
states, 1 otherwise. Screenshots are taken at 800x480 and 1366x768.
"""
import json
import sys
import time
import urllib.request

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

url, expect_json, shot_prefix, lang = sys.argv[1:5]
expected = json.loads(expect_json)
labels = json.load(urllib.request.urlopen(url + "/api/labels", timeout=10))

options = webdriver.ChromeOptions()
for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", f"--lang={lang}",
                 "--window-size=800,480"):
    options.add_argument(argument)
options.add_experimental_option("prefs", {"intl.accept_languages": lang})
driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


def viewport(width, height):
    """The page's own size, as the dock's screen has it (the window's frame aside)."""
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})


viewport(800, 480)
failed = False
try:
    driver.get(url + "/?refresh=200")
    deadline = time.time() + 20
    while time.time() < deadline and not driver.find_elements(By.CSS_SELECTOR, "body[data-updated]"):
        time.sleep(0.05)
    if not driver.find_elements(By.CSS_SELECTOR, "body[data-updated]"):
        print("the page never drew the status", flush=True)
        sys.exit(1)
    title = driver.find_element(By.ID, "title").text
    print(f"title: {title}", flush=True)
    print("ready", flush=True)
    seen = {serial: [] for serial in expected}
    texts = {}
    deadline = time.time() + 180
    def complete():
        for serial, states in expected.items():
            it = iter(seen[serial])
            if not all(state in it for state in states):
                return False
        return True
    # The page records every state it draws, so a state shown between two polls (a short copy
    # on a loaded machine) is still seen; the poll reads that record in one call.
    driver.execute_script("""
        window.seenStates = [];
        const record = () => {
          for (const tile of document.querySelectorAll('article.tile')) {
            const serial = tile.dataset.serial, state = tile.dataset.state;
            const label = (tile.querySelector('.state') || {}).textContent || '';
            const last = window.seenStates.filter(entry => entry[0] === serial).pop();
            if (!last || last[1] !== state) window.seenStates.push([serial, state, label, tile.innerText]);
          }
        };
        record();
        new MutationObserver(record).observe(document.body,
          {subtree: true, childList: true, attributes: true, characterData: true});
    """)
    read = 0
    while time.time() < deadline and not complete():
        try:
            entries = driver.execute_script("return window.seenStates.slice(arguments[0]);", read)
        except Exception as error:  # a slow round trip: the record keeps what it saw meanwhile
            print(f"(poll failed: {error.__class__.__name__})", flush=True)
            time.sleep(0.2)
            continue
        read += len(entries)
        for serial, state, label, detail in entries:
            if serial in seen and (not seen[serial] or seen[serial][-1] != state):
                seen[serial].append(state)
                texts[(serial, state)] = (label.strip(), detail)
                print(f"{serial} {state} [{label.strip()}]", flush=True)
                if state == "collecting":
                    driver.save_screenshot(f"{shot_prefix}-collecting-800x480.png")
        time.sleep(0.1)
    if not complete():
        print(f"tiles did not go through their states: expected {expected}, saw {seen}", flush=True)
        failed = True
    if labels:
        key = "zh" if lang.startswith("zh") else "en"
        for (serial, state), (label, detail) in texts.items():
            want = labels[f"state.{state}"][key]
            if not label.startswith(want):
                print(f"{serial}: label {label!r} for {state}, expected {want!r}", flush=True)
                failed = True
    for serial, states in expected.items():
        if "error" in states:
            shown = texts.get((serial, "error"), ("", ""))[1]
            print(f"{serial} error tile: {shown!r}", flush=True)
    driver.save_screenshot(f"{shot_prefix}-800x480.png")
    viewport(1366, 768)
    time.sleep(1.2)
    driver.save_screenshot(f"{shot_prefix}-1366x768.png")
finally:
    driver.quit()
sys.exit(1 if failed else 0)
