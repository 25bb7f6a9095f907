"""Quality gates that look at the whole running application: browser + accessibility (Playwright driving
Debian's Chromium, axe-core) and API fuzzing (schemathesis). See issue 8 and docs in each module.

Playwright's synchronous API keeps an asyncio loop alive in the main thread while it is open, and Django
refuses ORM calls from a thread with a running loop (SynchronousOnlyOperation). So the browser is opened
per test, *after* the demo data has been written and closed *before* the database is flushed: the
``browser`` fixture depends on ``demo_site``, which depends on ``live_server`` and ``audit_log_flushable``,
so pytest sets them up in that order and tears them down in the reverse one.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ventanilla.interop.tests.conftest import interop_log_flushable as interop_log_flushable

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
NO_CHROMIUM_REASON = (
    "Debian's Chromium is not installed at /usr/bin/chromium: run `make browser-deps` as root "
    "(apt-get install chromium fonts-dejavu-core); Playwright's own browser download is never used."
)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "browser: drives Debian's Chromium through Playwright against a live server (slow)"
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """schemathesis 4.32 names each operation's item ``test_x[GET /path]``, but pytest 9.2 builds the node
    id from the undecorated name, so every operation would share one id (ambiguous summaries, wrong
    xdist progress). Put the operation back into the id; a no-op when either library changes."""
    for item in items:
        label = getattr(item, "operation_label", None)
        node_id = getattr(item, "_id", None)
        if label and getattr(node_id, "params", "") is None and hasattr(node_id, "with_params"):
            item._id = node_id.with_params(label)  # type: ignore[union-attr]


def chromium_available() -> bool:
    return CHROMIUM.exists() and shutil.which(str(CHROMIUM)) is not None


@pytest.fixture
def demo_site(live_server: Any, audit_log_flushable: None, interop_log_flushable: None) -> str:
    """The live server's base URL, with the country's whole demo data set loaded (every module: catalogue,
    people, cases, notifications, documents, interoperability), committed so the server thread sees it;
    pytest-django flushes it after the test."""
    from ventanilla.demo.loader import load_all

    load_all()
    return str(live_server.url)


@pytest.fixture
def browser(demo_site: str) -> Iterator[Any]:
    """A headless Chromium (Debian's), opened after the data is in and closed before the flush."""
    if not chromium_available():
        pytest.skip(NO_CHROMIUM_REASON)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield instance
        finally:
            instance.close()
