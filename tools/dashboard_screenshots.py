"""Make the README's dashboard pictures: ``docs/images/dashboard-sessions.png`` and
``docs/images/dashboard-session.png``.

Starts ``qsession serve --virtual-clock`` on a throw-away store, makes the demo work of
``tests/server/dashboard/scenario.py`` through the API (the browser tests use the same),
and photographs the pages in headless Chromium (``/usr/bin/chromium``, driven by
Playwright): the sessions list as the administrator, a session page as its user (other
users' jobs on the device drawn anonymously).

Usage: ``python tools/dashboard_screenshots.py [--out docs/images]``
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "server" / "dashboard"))

import scenario  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "images")
    args = parser.parse_args(argv)
    missing = scenario.browser_missing()
    if missing:
        print(f"cannot take screenshots: {missing}", file=sys.stderr)
        return 1
    from playwright.sync_api import sync_playwright

    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        server = scenario.start_server(Path(tmp))
        try:
            made = scenario.demo(server)
            with sync_playwright() as pw:
                browser = scenario.launch(pw)
                try:
                    size = {"width": 1360, "height": 900}
                    admin = browser.new_page(viewport=size, device_scale_factor=1)
                    scenario.login(admin, server, "root")
                    admin.wait_for_selector("tr[data-session-id]")
                    path = args.out / "dashboard-sessions.png"
                    admin.screenshot(path=str(path), full_page=True)
                    print(f"wrote {path}")
                    user = browser.new_page(viewport=size, device_scale_factor=1)
                    scenario.login(user, server, "alice", f"/sessions/{made.session}")
                    user.wait_for_selector("svg.timeline rect.bar")
                    path = args.out / "dashboard-session.png"
                    user.screenshot(path=str(path), full_page=True)
                    print(f"wrote {path}")
                finally:
                    browser.close()
        finally:
            server.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
