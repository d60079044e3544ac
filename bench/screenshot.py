"""`python -m bench.screenshot URL "QUESTION"`: ask a running ragqa's web page a question in headless Chromium, save a screenshot.

Also the browser helpers the page's test uses: Debian's `chromium` (scripts/setup-test.sh installs
it) driven by Playwright, with the flags that keep it off the network it would otherwise reach for.
"""
from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from core.environment import use_offline_models

# Headless, and no background connections (updates, sync, QUIC probes): the machine's network refuses them.
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]
# The page is finished with the n-th question of its thread when that turn says so: answered, abstained, or an error.
ANSWER_SETTLED = """(n) => {
  const turns = document.querySelectorAll('#thread .turn');
  return turns.length >= n && Boolean(turns[n - 1].dataset.state);
}"""
# The latest turn of the thread (its answer, quote and sources).
LAST_TURN = "#thread .turn:last-child"


def chromium_path() -> str:
    """Debian's Chromium; a clear error when it is not installed."""
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        raise RuntimeError("Chromium is not installed: run `bash scripts/setup-test.sh` "
                           "(it runs `apt-get install -y chromium`; `make test` runs it)")
    return path


def launch(playwright):
    return playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_FLAGS)


def ask_on_page(page, question: str, timeout_s: float = 300) -> None:
    """Type the question, press Ask, and wait until the page shows the outcome under it, at the end of the thread."""
    turns = page.locator("#thread .turn").count()
    page.fill("#question", question)
    page.click("#ask-button")
    page.wait_for_function(ANSWER_SETTLED, arg=turns + 1, timeout=timeout_s * 1000)


def main(argv: list[str] | None = None) -> int:
    use_offline_models()
    parser = argparse.ArgumentParser(prog="python -m bench.screenshot", description=__doc__.split("\n\n")[0])
    parser.add_argument("url", help="address of a running ragqa, e.g. http://127.0.0.1:8000")
    parser.add_argument("question")
    parser.add_argument("--out", type=Path, default=Path("docs/screenshot.png"), help="default docs/screenshot.png")
    parser.add_argument("--api-key", help="API key, if the server asks for one")
    args = parser.parse_args(argv)

    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch(playwright)
        page = browser.new_page(viewport={"width": 1280, "height": 860}, device_scale_factor=1)
        if args.api_key:
            page.add_init_script(f"sessionStorage.setItem('ragqa-api-key', {args.api_key!r})")
        page.goto(args.url)
        ask_on_page(page, args.question)
        page.wait_for_selector("#documents li")
        page.screenshot(path=str(args.out), full_page=True)
        print(f"{args.out}: {page.inner_text(LAST_TURN + ' .answer-text')!r}")
        browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
