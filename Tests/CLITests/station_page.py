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
    while time.time() < deadline and not complete():
        for tile in driver.find_elements(By.CSS_SELECTOR, "article.tile"):
            try:
                serial = tile.get_attribute("data-serial")
                state = tile.get_attribute("data-state")
                label = tile.find_element(By.CSS_SELECTOR, ".state").text
                detail = tile.text
            except Exception:
                continue  # redrawn while read: the next round reads it again
            if serial in seen and (not seen[serial] or seen[serial][-1] != state):
                seen[serial].append(state)
                texts[(serial, state)] = (label, detail)
                print(f"{serial} {state} [{label}]", flush=True)
                if state == "collecting":
                    driver.save_screenshot(f"{shot_prefix}-collecting-800x480.png")
        time.sleep(0.05)
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
            tile = driver.find_element(By.CSS_SELECTOR, f'article.tile[data-serial="{serial}"]')
            print(f"{serial} error tile: {tile.text!r}", flush=True)
    driver.save_screenshot(f"{shot_prefix}-800x480.png")
    viewport(1366, 768)
    time.sleep(1.2)
    driver.save_screenshot(f"{shot_prefix}-1366x768.png")
finally:
    driver.quit()
sys.exit(1 if failed else 0)
