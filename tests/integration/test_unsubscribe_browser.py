"""Issue 6 in a real browser: Debian's headless Chromium through selenium.

The link comes from a message delivered to the test SMTP server; the
recipient picks "at most one message a month" on a phone-sized screen;
the confirmation and the state in the control API are checked; the pages
are saved as screenshots in tests/out/<test name>/.
"""
import os
import re
import shutil
import time

from harness import OUT, campaign, wait_for

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
PHONE = {"width": 390, "height": 844, "deviceScaleFactor": 2,
         "mobile": True}


def browser(env):
    """A fresh headless Chromium with its own profile in the test's tmp."""
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        raise AssertionError("python3-selenium is missing: apt-get install "
                             "-y chromium chromium-driver python3-selenium "
                             "(or make deps)")
    for path in (CHROMIUM, CHROMEDRIVER):
        if not os.path.exists(path):
            raise AssertionError("%s is missing: apt-get install -y chromium "
                                 "chromium-driver (or make deps)" % path)
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu",
              "--disable-dev-shm-usage", "--disable-background-networking",
              "--disable-component-update", "--disable-sync",
              "--no-first-run", "--window-size=390,844",
              "--user-data-dir=" + os.path.join(env.tmp, "chromium")):
        opts.add_argument(a)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    svc = Service(CHROMEDRIVER,
                  log_output=os.path.join(env.tmp, "chromedriver.log"))
    return webdriver.Chrome(service=svc, options=opts)


def screenshot(env, driver, name):
    """Save into the test's tmp (kept on failure) and straight into
    tests/out/<test>/ so that a passing run keeps it too."""
    path = os.path.join(env.tmp, name)
    assert driver.save_screenshot(path), path
    keep = os.path.join(OUT, env.name)
    os.makedirs(keep, exist_ok=True)
    shutil.copy(path, os.path.join(keep, name))
    return path


def test_browser_chooses_at_most_one_message_a_month(env):
    from selenium.webdriver.common.by import By
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    smtp = env.start_smtp()
    d = env.daemon()
    addr = "grace.hopper@example.org"
    code, r = d.request("POST", "/v1/campaigns", campaign(
        cid="nov-update", rcpts=[("Grace", addr)]))
    assert code == 202 and r["accepted"] == 1, r
    m = smtp.wait_count(1)[0]
    url = re.search(r"<(http[^>]+)>",
                    str(m["msg"]["List-Unsubscribe"])).group(1)
    assert "/u/" in url
    # The same link is in the text body the recipient reads.
    assert url in m["msg"].get_body(("plain",)).get_content()

    driver = browser(env)
    try:
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", PHONE)
        driver.get(url)
        assert driver.title == "Your messages from news.example.com"
        text = driver.find_element(By.TAG_NAME, "body").text
        assert "gr***@example.org" in text, text
        assert addr not in text
        for label in ("Unsubscribe from news.example.com",
                      "Unsubscribe from everything sent through this "
                      "service", "Send me at most one message a month"):
            assert label in text, text
        # The page fits a phone: no horizontal scrolling.
        width = driver.execute_script(
            "return document.documentElement.scrollWidth")
        assert width <= PHONE["width"], width
        # Opening the page changed nothing.
        code, rc = d.request("GET", "/v1/recipients/" + addr)
        assert rc["preference"] is None and rc["flags"] == [], rc
        screenshot(env, driver, "choices.png")

        # Pick by the label, as a finger would.
        driver.find_element(
            By.CSS_SELECTOR, "label[for=choice-monthly]").click()
        assert driver.find_element(By.ID, "choice-monthly").is_selected()
        assert not driver.find_element(By.ID, "choice-list").is_selected()
        driver.find_element(By.CSS_SELECTOR,
                            "button[type=submit]").click()
        WebDriverWait(driver, 10, ignored_exceptions=(
            StaleElementReferenceException,)).until(
            lambda dr: "at most one message a month" in
            dr.find_element(By.TAG_NAME, "h1").text)
        text = driver.find_element(By.TAG_NAME, "body").text
        assert ("From now on, gr***@example.org will get at most one "
                "message a month from this service.") in text, text
        undo = driver.find_element(By.CSS_SELECTOR,
                                   "button[value=undo-monthly]")
        assert undo.text == "Undo: remove the monthly limit"
        assert driver.current_url == url, "answered in place, no redirect"
        assert driver.get_cookies() == []
        screenshot(env, driver, "unsubscribe.png")

        code, rc = d.request("GET", "/v1/recipients/" + addr)
        assert code == 200, rc
        p = rc["preference"]
        assert p is not None, rc
        assert (p["max"], p["window"], p["source"]) == (1, 2592000,
                                                        "link"), p
        assert abs(p["time"] - time.time()) < 60, p
        assert rc["flags"] == [], rc

        # The same page on a desktop screen.
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
        driver.set_window_size(1280, 900)
        screenshot(env, driver, "unsubscribe-desktop.png")

        # Undo works from the confirmation itself.
        driver.find_element(By.CSS_SELECTOR,
                            "button[value=undo-monthly]").click()
        WebDriverWait(driver, 10, ignored_exceptions=(
            StaleElementReferenceException,)).until(
            lambda dr: "monthly limit is removed" in
            dr.find_element(By.TAG_NAME, "h1").text)
        wait_for(lambda: d.request("GET", "/v1/recipients/" + addr)[1]
                 ["preference"] is None, 5, what="the preference to go")
        screenshot(env, driver, "undone-desktop.png")

        # The strict CSP let the inline style through and nothing broke.
        problems = [e["message"] for e in driver.get_log("browser")
                    if e["level"] in ("SEVERE", "WARNING") and
                    "favicon.ico" not in e["message"]]
        assert problems == [], problems
    finally:
        driver.quit()
