"""Driving the page in headless Chromium (the browser tests and the docs screenshot of
``benchmarks/bench_web.py``); a test helper, not a test module (pytest collects ``test_*.py``).

Uses Debian's ``chromium`` and ``chromium-driver`` at fixed paths through selenium; no
browser or driver is ever downloaded (the driver path is given, so selenium-manager has
nothing to look for, and ``SE_OFFLINE`` forbids it to try).
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")


def headless_chromium(width=1150, height=2300):
    """A selenium Chrome driver on the system Chromium, headless."""
    from selenium import webdriver

    os.environ["SE_OFFLINE"] = "true"
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                 f"--window-size={width},{height}"):
        options.add_argument(flag)
    return webdriver.Chrome(options=options,
                            service=webdriver.ChromeService(executable_path=str(CHROMEDRIVER)))


def _cell(value, boolean):
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if boolean:
        return "yes" if float(value) == 1.0 else "no"
    return str(value)


def fill_and_predict(driver, url, row, timeout=120):
    """Open the page, fill it with one cohort-table row (its image paths too), wait for the result.

    ``row`` is a row of a cohort table ``X`` (booleans as 1.0/0.0/NaN, image paths absolute).
    """
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import Select, WebDriverWait

    driver.get(url)
    for element in driver.find_elements(By.CSS_SELECTOR, "#patient-form [name]"):
        name = element.get_attribute("name")
        if name == "times" or name not in row.index:
            continue
        if element.get_attribute("type") == "file":
            element.send_keys(str(Path(row[name]).resolve()))
        elif element.tag_name == "select":
            Select(element).select_by_value(_cell(row[name], element.get_attribute("data-type") == "boolean"))
        else:
            element.send_keys(_cell(row[name], False))
    driver.find_element(By.ID, "predict-button").click()
    WebDriverWait(driver, timeout).until(expected_conditions.visibility_of_element_located((By.ID, "result")))
