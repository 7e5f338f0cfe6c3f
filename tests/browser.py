"""A page in Debian's headless Chromium (driven by Playwright), for the browser tests."""
from __future__ import annotations

import contextlib
import shutil

from playwright.async_api import Page, async_playwright

# Without the background-networking flags Chromium keeps dialling out, which this machine refuses.
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@contextlib.asynccontextmanager
async def chromium_page(width: int = 1000, height: int = 820):
    """Yields (page, errors): `errors` collects the page's uncaught JavaScript errors."""
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=shutil.which("chromium"), args=CHROMIUM_FLAGS)
        try:
            page: Page = await browser.new_page(viewport={"width": width, "height": height})
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            yield page, errors
        finally:
            await browser.close()


async def console_log_in(page: Page, base: str, email: str, password: str) -> None:
    """Logs in to the console through its login form, as a person would."""
    await page.goto(f"{base}/console/login")
    await page.fill("input[name=email]", email)
    await page.fill("input[name=password]", password)
    await page.click("#login-form button")
    await page.wait_for_selector("header nav")
