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
        assert driver.title == "Your messages from Example Shop"
        text = driver.find_element(By.TAG_NAME, "body").text
        assert "gr***@example.org" in text, text
        assert addr not in text
        for label in ("Unsubscribe from news.example.com",
                      "Unsubscribe from every list, not just this one",
                      "Send me at most one message a month"):
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
                "message a month, including mail already on its way.") \
            in text, text
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


# --- Issue 16: every choice, the state on a second visit, the languages,
# and axe-core inside the same Chromium on every page state.

AXE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))), "axe", "node_modules", "axe-core", "axe.min.js")
DESKTOP = {"width": 1280, "height": 900, "deviceScaleFactor": 1,
           "mobile": False}


def axe_source():
    if not os.path.exists(AXE):
        raise AssertionError("%s is missing: make axe (npm ci in tests/axe)"
                             % AXE)
    with open(AXE, encoding="utf-8") as f:
        return f.read()


def axe_everywhere(driver, what, src, seen):
    """axe-core on the page as it is, in light and dark, phone and desktop
    widths; violations are gathered into `seen` with where they were."""
    for scheme in ("light", "dark"):
        driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {
            "features": [{"name": "prefers-color-scheme", "value": scheme}]})
        for size in (PHONE, DESKTOP):
            driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                                   size)
            assert driver.execute_script(
                "return matchMedia('(prefers-color-scheme: dark)').matches"
            ) == (scheme == "dark"), scheme
            assert driver.execute_script("return innerWidth") == \
                size["width"], size
            if not driver.execute_script("return !!window.axe"):
                # Through DevTools, which the page's CSP does not govern.
                driver.execute_script(src)
            res = driver.execute_async_script(
                "const done = arguments[arguments.length - 1];"
                "axe.run(document, {resultTypes: ['violations']})"
                ".then(r => done(r.violations.map(v => [v.id, v.impact,"
                " v.nodes.map(n => n.target.join(' ')).join(', ')])))"
                ".catch(e => done([['axe-error', String(e), '']]));")
            for v in res:
                seen.append("%s [%s %dpx]: %s (%s) at %s" % (
                    what, scheme, size["width"], v[0], v[1], v[2]))
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": []})
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", PHONE)


def page_state(d, addr):
    code, r = d.request("GET", "/v1/recipients/" + addr)
    assert code == 200, r
    return r


def submit(driver, choice=None, button=None):
    """Pick a choice by its label (as a finger would) and confirm, or
    press a button of its own; wait for the answer."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait
    from selenium.common.exceptions import WebDriverException
    old = driver.find_element(By.TAG_NAME, "html")
    if choice is not None:
        driver.find_element(By.CSS_SELECTOR,
                            "label[for=choice-%s]" % choice).click()
        assert driver.find_element(By.ID, "choice-" + choice).is_selected()
        driver.find_element(By.CSS_SELECTOR, "button[type=submit]:not("
                            "[name])").click()
    else:
        driver.find_element(By.CSS_SELECTOR,
                            "button[value=%s]" % button).click()

    def fresh(dr):
        # The old document's element is gone: stale, or (while the new
        # one loads) "does not belong to the document".
        try:
            old.tag_name
            return False
        except WebDriverException:
            return True
    WebDriverWait(driver, 10).until(fresh)
    return driver.find_element(By.TAG_NAME, "body").text


def test_browser_every_choice_and_the_state_it_leaves(env):
    from selenium.webdriver.common.by import By

    smtp = env.start_smtp()
    d = env.daemon(start=False)
    d.set_conf("list news.example.com", "contact", "help@example.com")
    d.start()
    addr = "ada@example.org"
    code, r = d.request("POST", "/v1/campaigns", campaign(
        cid="c1", rcpts=[("Ada", addr)]))
    assert code == 202, r
    m = smtp.wait_count(1)[0]
    url = re.search(r"<(http[^>]+)>",
                    str(m["msg"]["List-Unsubscribe"])).group(1)
    src = axe_source()
    seen = []
    driver = browser(env)
    try:
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", PHONE)
        driver.get(url)
        assert driver.title == "Your messages from Example Shop"
        assert driver.find_element(By.ID, "choice-list").is_selected()
        link = driver.find_element(By.CSS_SELECTOR, ".contact a")
        assert link.get_attribute("href") == "mailto:help@example.com"
        axe_everywhere(driver, "first visit", src, seen)
        # The checker itself finds a fault when there is one.
        driver.execute_script("document.querySelector('main')"
                              ".insertAdjacentHTML('beforeend',"
                              " '<img src=\"data:,\">')")
        planted = []
        axe_everywhere(driver, "planted", src, planted)
        assert planted and all("image-alt" in p for p in planted), planted
        driver.get(url)

        steps = [
            ("weekly", "You will get at most one message a week",
             "At most one message a week.",
             lambda r: (r["preference"]["max"],
                        r["preference"]["window"]) == (1, 7 * 86400)),
            ("monthly", "You will get at most one message a month",
             "At most one message a month.",
             lambda r: r["preference"]["window"] == 30 * 86400),
            ("pause", "Your messages are paused", "Paused until ", None),
            ("plain", "You will get plain text only", "Plain text only.",
             None),
            ("list", "You are unsubscribed",
             "You are unsubscribed from news.example.com.",
             lambda r: [(f["list"], f["source"]) for f in r["flags"]] ==
             [("news.example.com", "link")]),
            ("all", "You are unsubscribed from everything",
             "You are unsubscribed from every list.",
             lambda r: len(r["flags"]) == 2),
        ]
        for choice, heading, state, check in steps:
            text = submit(driver, choice=choice)
            assert driver.find_element(By.TAG_NAME, "h1").text == heading, \
                text
            assert state in text, (choice, text)
            assert driver.current_url == url and driver.get_cookies() == []
            assert driver.find_elements(By.CSS_SELECTOR,
                                        "input:checked") == [], \
                "nothing preselected after a choice"
            axe_everywhere(driver, "after " + choice, src, seen)
            if check is not None:
                assert check(page_state(d, addr)), page_state(d, addr)
            screenshot(env, driver, "after-%s.png" % choice)

        # A second visit: the state, and the ways back, nothing chosen.
        driver.get(url)
        text = driver.find_element(By.TAG_NAME, "body").text
        for line in ("You are unsubscribed from news.example.com.",
                     "You are unsubscribed from every list.",
                     "At most one message a month.", "Plain text only."):
            assert line in text, text
        until = page_state(d, addr)
        # The daemon's [quiet] timezone is UTC: the zone is named.
        assert re.search(r"Paused until [A-Z][a-z]+ \d{1,2}, 20\d\d "
                         r"\(Coordinated Universal Time\)\.", text), text
        assert driver.find_elements(By.CSS_SELECTOR, "input:checked") == []
        assert driver.find_elements(By.ID, "choice-list") == []
        axe_everywhere(driver, "second visit", src, seen)
        screenshot(env, driver, "second-visit.png")

        # Resubscribe, then end the pause and plain text, by the page.
        text = submit(driver, button="undo-list")
        assert "You are subscribed again" in text, text
        assert "You are subscribed to news.example.com." in text
        text = submit(driver, button="undo-all")
        assert "You are subscribed again" in text, text
        assert page_state(d, addr)["flags"] == [], until
        text = submit(driver, choice="undo-pause")
        assert "The pause is over" in text and "Paused" not in text, text
        text = submit(driver, choice="undo-plain")
        assert "Messages with pictures and layout." in text, text
        axe_everywhere(driver, "after undoing", src, seen)

        # A bad link.
        driver.get(url[:-6] + "AAAAAA")
        assert driver.title == "This link is not valid"
        axe_everywhere(driver, "invalid link", src, seen)
    finally:
        driver.quit()
    assert seen == [], "\n".join(seen)


def test_browser_each_language(env):
    from selenium.webdriver.common.by import By

    smtp = env.start_smtp()
    d = env.daemon()
    addr = "lin@example.org"
    code, r = d.request("POST", "/v1/campaigns", campaign(
        cid="c1", rcpts=[(None, addr)]))
    assert code == 202, r
    m = smtp.wait_count(1)[0]
    url = re.search(r"<(http[^>]+)>",
                    str(m["msg"]["List-Unsubscribe"])).group(1)
    src = axe_source()
    seen = []
    langs = {
        "de": ("Ihre Nachrichten von Example Shop", "Bestätigen",
               "Ihre Nachrichten sind pausiert", "Pausiert bis zum "),
        "fr": ("Vos messages de Example Shop", "Confirmer",
               "Vos messages sont en pause", "En pause jusqu\u2019au "),
        "es": ("Sus mensajes de Example Shop", "Confirmar",
               "Sus mensajes están en pausa", "En pausa hasta el "),
        "en": ("Your messages from Example Shop", "Confirm",
               "Your messages are paused", "Paused until "),
    }
    driver = browser(env)
    try:
        for lang, (title, button, paused, until) in langs.items():
            driver.execute_cdp_cmd("Emulation.setUserAgentOverride", {
                "userAgent": driver.execute_script(
                    "return navigator.userAgent"),
                "acceptLanguage": lang + ",en;q=0.5"})
            driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                                   PHONE)
            driver.get(url)
            assert driver.title == title, (lang, driver.title)
            html = driver.find_element(By.TAG_NAME, "html")
            assert html.get_attribute("lang") == lang
            assert driver.find_element(
                By.CSS_SELECTOR, "button[type=submit]").text == button
            axe_everywhere(driver, lang + " choices", src, seen)
            screenshot(env, driver, "choices-%s.png" % lang)
            text = submit(driver, choice="pause")
            assert driver.find_element(By.TAG_NAME, "h1").text == paused
            assert until in text, (lang, text)
            axe_everywhere(driver, lang + " paused", src, seen)
            submit(driver, button="undo-pause")
    finally:
        driver.quit()
    assert seen == [], "\n".join(seen)
