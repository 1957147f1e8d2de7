"""Render speed: one reused Chromium against a browser launched per page, same run.

    cd backend && uv run python -m bench.render_speed [--pages 20] [--repeat 3]

Serves script-built pages on loopback and renders them with `PageRenderer` (Debian's
Chromium or Playwright's): once with the process's one browser reused across pages (what
the render worker does), once closing the browser after every page so each page pays a
launch (the baseline). Reports pages/s medians and the ratio.
"""

import argparse
import functools
import statistics
import tempfile
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from app.audits.page import CrawledPage
from app.audits.render.renderer import PageRenderer, browser_unavailable_reason
from app.core.config import Settings

PAGE = """<!doctype html><html><head><title>Loading</title></head><body>
<div id="root"></div>
<script>
  const root = document.getElementById("root");
  const items = Array.from({length: 40}, (_, i) => `<li><a href="/p/${(i * 7) % 50}.html">
    Item ${i} about rendering</a></li>`).join("");
  document.title = "Page {n}";
  const text = "words built by script ".repeat(50);
  root.innerHTML = `<h1>Page {n}</h1><p>${text}</p><ul>${items}</ul>`;
</script></body></html>"""


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def serve(directory: Path) -> tuple[ThreadingHTTPServer, str]:
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def render_all(renderer: PageRenderer, urls: list[str], *, relaunch: bool) -> float:
    started = time.perf_counter()
    for url in urls:
        view = renderer.render(url, raw=CrawledPage(url=url, depth=0))
        if view.error is not None or not view.h1:
            raise SystemExit(f"render failed for {url}: {view.error}")
        if relaunch and renderer._browser is not None:
            # The baseline: no browser survives its page, so the next render launches one.
            renderer._browser.close()
    return len(urls) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pages", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    settings = Settings(CRAWL_ALLOW_PRIVATE_NETWORKS=True, RENDER_TIMEOUT=30)
    reason = browser_unavailable_reason(settings)
    if reason is not None:
        raise SystemExit(reason)

    with tempfile.TemporaryDirectory(prefix="render-bench-") as tmp:
        site = Path(tmp)
        (site / "p").mkdir()
        for n in range(args.pages):
            (site / "p" / f"{n}.html").write_text(PAGE.replace("{n}", str(n)))
        server, root = serve(site)
        urls = [f"{root}/p/{n}.html" for n in range(args.pages)]
        renderer = PageRenderer(settings)
        results: dict[str, list[float]] = {"reused": [], "per_page": []}
        try:
            render_all(renderer, urls[:2], relaunch=False)  # warm-up: driver and first launch
            for round_number in range(1, args.repeat + 1):
                for mode in ("reused", "per_page"):
                    rate = render_all(renderer, urls, relaunch=mode == "per_page")
                    results[mode].append(rate)
                    print(f"round {round_number} {mode:>8}: {rate:.2f} pages/s", flush=True)
        finally:
            renderer.close()
            server.shutdown()

    reused = statistics.median(results["reused"])
    per_page = statistics.median(results["per_page"])
    print(f"\nmedians of {args.repeat} runs, {args.pages} pages each:")
    print(f"reused browser   {reused:6.2f} pages/s")
    print(f"browser per page {per_page:6.2f} pages/s")
    print(f"reused / per page: x{reused / per_page:.2f}")


if __name__ == "__main__":
    main()
