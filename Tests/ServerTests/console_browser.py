#!/usr/bin/python3
"""Uses the console in a real browser (headless Chromium via Selenium), keyboard first.

Usage: console_browser.py URL ARTIFACTS VIEWER PASSWORD OFFICER REVIEWER

Signs in as VIEWER, searches for OFFICER's recordings, opens the first, waits for its <video>
to know its duration and plays it until its time advances, reads the custody timeline, opens
the receipt, and is refused the people page (403). In a fresh browser (no cookies) the same
item's page sends it to the sign-in page. Then REVIEWER (same password) categorises the item,
ticks it in a search and makes a share, whose link a fresh browser opens without an account
and plays. Screenshots at 1366x768 go to ARTIFACTS. Prints one
line per step; exits 0 when every step held, 1 otherwise.
"""
import os
import sys
import time

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select

url, artifacts, viewer, password, officer, reviewer = sys.argv[1:7]
os.makedirs(artifacts, exist_ok=True)


def browser():
    options = webdriver.ChromeOptions()
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1366,768",
                     "--autoplay-policy=no-user-gesture-required", "--lang=zh-CN"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {"width": 1366, "height": 768, "deviceScaleFactor": 1, "mobile": False})
    return driver


def wait(condition, seconds=20):
    """The condition's value once true; a page replaced while it was read (a navigation) is read again."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            value = condition()
        except (StaleElementReferenceException, NoSuchElementException):
            value = None
        if value:
            return value
        time.sleep(0.1)
    return None


def step(text):
    print(text, flush=True)


driver = browser()
failed = False
try:
    driver.get(url + "/console")
    if not wait(lambda: driver.current_url.endswith("/console/sign-in")):
        raise AssertionError(f"not sent to the sign-in page: {driver.current_url}")
    step("sent to sign-in")
    driver.find_element(By.ID, "name").send_keys(viewer)
    driver.find_element(By.ID, "password").send_keys(password + Keys.ENTER)
    if not wait(lambda: viewer in driver.find_element(By.TAG_NAME, "body").text):
        raise AssertionError("signing in did not show the person: " + driver.find_element(By.TAG_NAME, "body").text[:400])
    step("signed in")
    driver.save_screenshot(os.path.join(artifacts, "console-home.png"))

    driver.get(url + "/console/items")
    field = driver.find_element(By.NAME, "officer")
    field.send_keys(officer + Keys.ENTER)
    links = wait(lambda: driver.find_elements(By.CSS_SELECTOR, "table.results tbody a"))
    if not links:
        raise AssertionError("the search found nothing: " + driver.find_element(By.TAG_NAME, "body").text[:400])
    step(f"search found {len(links)}")
    driver.save_screenshot(os.path.join(artifacts, "console-search.png"))
    links[0].click()

    video = wait(lambda: driver.find_elements(By.CSS_SELECTOR, "video#player"))
    if not video:
        raise AssertionError("the item page has no video player")
    duration = wait(lambda: driver.execute_script("const v = document.getElementById('player'); return v.duration > 0 ? v.duration : 0;"), 30)
    if not duration:
        error = driver.execute_script("const v = document.getElementById('player'); return v.error ? v.error.code + ' ' + v.error.message : 'none';")
        raise AssertionError(f"the video never knew its duration (error: {error})")
    step(f"duration {duration:.2f} s")
    driver.execute_script("const v = document.getElementById('player'); v.muted = true; v.play();")
    played = wait(lambda: driver.execute_script("return document.getElementById('player').currentTime;") > 0.2, 30)
    if not played:
        error = driver.execute_script("const v = document.getElementById('player'); return v.error ? v.error.code + ' ' + v.error.message : 'none';")
        raise AssertionError(f"the video did not play (error: {error})")
    step("played")
    rows = driver.find_elements(By.CSS_SELECTOR, "table.timeline tbody tr")
    if len(rows) < 2:
        raise AssertionError(f"the custody timeline has {len(rows)} rows")
    step(f"custody timeline: {len(rows)} events")
    driver.save_screenshot(os.path.join(artifacts, "console-item.png"))
    item_url = driver.current_url

    driver.find_element(By.PARTIAL_LINK_TEXT, "回执").click()
    if not wait(lambda: '"signature"' in driver.page_source):
        raise AssertionError("the receipt did not open")
    step("receipt opened")

    driver.get(url + "/console/people")
    if not wait(lambda: "无权" in driver.find_element(By.TAG_NAME, "body").text):
        raise AssertionError("a viewer was not refused the people page: " + driver.find_element(By.TAG_NAME, "body").text[:400])
    step("people page refused")
    driver.save_screenshot(os.path.join(artifacts, "console-forbidden.png"))

    fresh = browser()
    try:
        fresh.get(item_url)
        if not wait(lambda: fresh.current_url.endswith("/console/sign-in")):
            raise AssertionError(f"a browser without a session reached {fresh.current_url}")
        step("a fresh browser is sent to sign-in")
    finally:
        fresh.quit()
    driver.quit()
    driver = browser()
    driver.get(url + "/console/sign-in")
    driver.find_element(By.ID, "name").send_keys(reviewer)
    driver.find_element(By.ID, "password").send_keys(password + Keys.ENTER)
    if not wait(lambda: reviewer in driver.find_element(By.TAG_NAME, "body").text):
        raise AssertionError("the reviewer could not sign in")
    driver.get(item_url)
    Select(driver.find_element(By.CSS_SELECTOR, "form.review select[name=category]")).select_by_value("investigation")
    driver.find_element(By.CSS_SELECTOR, "form.review button").click()
    if not wait(lambda: "调查取证" in driver.find_element(By.TAG_NAME, "body").text):
        raise AssertionError("the category did not stick")
    step("categorised")
    driver.get(url + "/console/items?officer=" + officer)
    box = wait(lambda: driver.find_elements(By.CSS_SELECTOR, "table.results input[name=item]"))
    if not box:
        raise AssertionError("no item to tick for a share")
    box[0].click()
    driver.find_element(By.NAME, "recipient").send_keys("区人民法院")
    driver.find_element(By.NAME, "purpose").send_keys("庭审质证")
    driver.find_element(By.CSS_SELECTOR, "fieldset.share-fields button").click()
    link = wait(lambda: driver.find_elements(By.ID, "share-link"))
    if not link:
        raise AssertionError("the share was not made: " + driver.find_element(By.TAG_NAME, "body").text[:400])
    share_path = link[0].get_attribute("value")
    step("share made")
    driver.save_screenshot(os.path.join(artifacts, "console-share-made.png"))
    outsider = browser()
    try:
        outsider.get(url + share_path)
        videos = wait(lambda: outsider.find_elements(By.TAG_NAME, "video"))
        if not videos:
            raise AssertionError("the share page shows no video: " + outsider.find_element(By.TAG_NAME, "body").text[:400])
        known = wait(lambda: outsider.execute_script("const v = document.querySelector('video'); return v.duration > 0 ? v.duration : 0;"), 30)
        if not known:
            raise AssertionError("the shared video never knew its duration")
        outsider.execute_script("const v = document.querySelector('video'); v.muted = true; v.play();")
        if not wait(lambda: outsider.execute_script("return document.querySelector('video').currentTime;") > 0.2, 30):
            raise AssertionError("the shared video did not play")
        step("share opened and played without an account")
        outsider.save_screenshot(os.path.join(artifacts, "console-share-opened.png"))
    finally:
        outsider.quit()
    driver.get(url + "/console/reports")
    months = [o.get_attribute("value") for o in driver.find_elements(By.CSS_SELECTOR, "#report-months option")]
    counted = None
    for month in months:
        driver.get(url + "/console/reports?month=" + month)
        total = driver.find_elements(By.CSS_SELECTOR, "table.report tfoot td")
        if total and int(total[0].text or "0") > 0:
            counted = month
            break
    if counted is None:
        raise AssertionError(f"no month of {months} counts the synced recording")
    if "网上留存率" not in driver.find_element(By.TAG_NAME, "body").text:
        raise AssertionError("the monthly report has no retained-online column")
    step(f"monthly report of {counted}")
    driver.save_screenshot(os.path.join(artifacts, "console-report.png"))
    driver.find_element(By.PARTIAL_LINK_TEXT, "打印版").click()
    if not wait(lambda: driver.find_elements(By.CSS_SELECTOR, "body.printable table.report")):
        raise AssertionError("the printable report did not open")
    step("printable report")
    driver.save_screenshot(os.path.join(artifacts, "console-report-print.png"))
    driver.get(url + "/console/reconciliation?month=" + counted)
    if not wait(lambda: "对账" in driver.find_element(By.TAG_NAME, "h1").text):
        raise AssertionError("reconciliation did not open")
    step("reconciliation")
    driver.save_screenshot(os.path.join(artifacts, "console-reconciliation.png"))
except AssertionError as error:
    failed = True
    print(f"FAILED: {error}", flush=True)
    driver.save_screenshot(os.path.join(artifacts, "console-failure.png"))
finally:
    driver.quit()
sys.exit(1 if failed else 0)
