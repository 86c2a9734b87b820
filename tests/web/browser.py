"""Shared plumbing for the browser tests: a real server thread on a loopback port, and a tab
of Debian's chromium driven by Playwright (never a downloaded browser)."""
from __future__ import annotations

import contextlib
import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

CHROMIUM = os.environ.get("PLAYWRIGHT_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


@contextlib.contextmanager
def serve(app: Any, ports: range) -> Iterator[str]:
    """Serve `app` on the first free port of `ports`; yields its base URL."""
    server = None
    for port in ports:
        try:
            server = make_server("127.0.0.1", port, app, threaded=True)
            break
        except (OSError, SystemExit):
            # werkzeug reports a port in use by sys.exit(1), not by the OSError: another
            # test process (pytest -n) may hold this one
            continue
    assert server is not None, f"no free port in {ports.start}-{ports.stop - 1}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)


@contextlib.contextmanager
def chromium_tab(**context_options: Any) -> Iterator[Any]:
    """A fresh headless Chromium tab (zh-CN unless told otherwise)."""
    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True,
                                    timeout=30_000)
        context = browser.new_context(**{"locale": "zh-CN", **context_options})
        tab = context.new_page()
        tab.set_default_timeout(15_000)
        try:
            yield tab
        finally:
            context.close()
            browser.close()
