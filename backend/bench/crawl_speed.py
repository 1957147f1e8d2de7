"""Crawl speed: our crawler against Scrapy on the same generated site, in the same run.

    cd backend && uv run python -m bench.crawl_speed [--pages 5000] [--repeat 3] [--only ours]

Generates a site (8 KB pages, 20 internal links each, ~2% of links broken) on disk, serves it
with its own nginx on a free loopback port, then crawls it with each crawler in its own
subprocess at concurrency 32, alternating, `--repeat` times. Reports pages/s, CPU seconds
(the crawler and its children) and peak RSS (the crawler and its children) as medians, and
the ratios ours / Scrapy.
"""

import argparse
import asyncio
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil

CONCURRENCY = 32
BACKEND_DIR = Path(__file__).resolve().parents[1]
WORDS = [
    "search",
    "engine",
    "optimisation",
    "crawl",
    "index",
    "page",
    "title",
    "description",
    "content",
    "link",
    "anchor",
    "robots",
    "sitemap",
    "canonical",
    "redirect",
    "status",
    "render",
    "script",
    "heading",
    "image",
    "speed",
    "mobile",
]


# -- the site -------------------------------------------------------------------------------


def generate_site(root: Path, pages: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    root.mkdir(parents=True, exist_ok=True)
    filler_words = [rng.choice(WORDS) for _ in range(1200)]
    for i in range(pages):
        targets = [(i + 1) % pages, (i * 7 + 3) % pages]
        targets += [rng.randrange(pages) for _ in range(18)]
        links = []
        for n, target in enumerate(targets):
            if n >= 2 and rng.random() < 0.02:
                href = f"/missing/{rng.randrange(200)}.html"  # a broken link
            else:
                href = f"/p/{target}.html"
            links.append(f'<li><a href="{href}">Page {target} about {rng.choice(WORDS)}</a></li>')
        start = rng.randrange(200)
        text = " ".join(filler_words[start : start + 900])
        body = (
            f"<!doctype html><html lang='en'><head><meta charset='utf-8'>"
            f"<title>Page {i} | Bench site</title>"
            f"<meta name='description' content='Description of page {i}'>"
            f"<link rel='canonical' href='/p/{i}.html'></head><body>"
            f"<header><h1>Page {i}</h1></header><nav><ul>{''.join(links)}</ul></nav>"
            f"<main><h2>Section</h2><p>{text}</p></main></body></html>"
        )
        # Pad to 8 KB.
        body = body.replace("</main>", "<!--" + "x" * max(0, 8192 - len(body) - 7) + "--></main>")
        (root / "p").mkdir(exist_ok=True)
        (root / "p" / f"{i}.html").write_text(body)
    (root / "index.html").write_text(
        "<!doctype html><html><head><title>Home</title></head><body>"
        + "".join(f'<a href="/p/{i}.html">p{i}</a>' for i in range(0, pages, max(1, pages // 50)))
        + "</body></html>"
    )
    (root / "robots.txt").write_text("User-agent: *\nDisallow: /private/\n")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_nginx(site: Path, work: Path, port: int) -> subprocess.Popen[bytes]:
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not os.path.exists(nginx):
        sys.exit("nginx is missing: apt-get install -y nginx")
    conf = work / "nginx.conf"
    conf.write_text(f"""
worker_processes 1;
daemon off;
pid {work}/nginx.pid;
error_log {work}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    types {{ text/html html; text/plain txt; }}
    default_type application/octet-stream;
    access_log off;
    sendfile on;
    keepalive_requests 100000;
    client_body_temp_path {work}/body;
    proxy_temp_path {work}/proxy;
    fastcgi_temp_path {work}/fastcgi;
    uwsgi_temp_path {work}/uwsgi;
    scgi_temp_path {work}/scgi;
    server {{
        listen 127.0.0.1:{port};
        root {site};
        index index.html;
    }}
}}
""")
    process = subprocess.Popen([nginx, "-c", str(conf), "-p", str(work)])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return process
        except OSError:
            time.sleep(0.05)
    process.kill()
    sys.exit(f"nginx did not start; see {work}/error.log")


# -- the crawlers (each runs in its own subprocess) -----------------------------------------


def run_ours(url: str) -> dict[str, Any]:
    from app.audits.crawl.crawler import CrawlConfig, crawl
    from app.audits.page import CrawledPage

    config = CrawlConfig(
        start_url=url,
        max_pages=1_000_000,
        max_depth=1000,
        include_subdomains=False,
        concurrency=CONCURRENCY,
        per_host_concurrency=CONCURRENCY,
        timeout=30,
        max_body_bytes=5 * 1024 * 1024,
        user_agent="SEOPlatformBot/0.1",
        allow_private_networks=True,
        parse_workers=1,
    )
    fetched = 0
    links = 0

    async def on_batch(batch: list[CrawledPage]) -> None:
        nonlocal fetched, links
        for page in batch:
            if page.status_code is not None:
                fetched += 1
            links += len(page.links)

    started = time.perf_counter()
    asyncio.run(crawl(config, on_batch=on_batch, batch_size=200))
    return {"pages": fetched, "seconds": time.perf_counter() - started, "links": links}


def run_scrapy(url: str) -> dict[str, Any]:
    import scrapy
    from scrapy.crawler import CrawlerProcess

    class BenchSpider(scrapy.Spider):  # type: ignore[misc]
        name = "bench"
        start_urls = [url]
        custom_settings = {"HTTPERROR_ALLOW_ALL": True}

        def parse(self, response: Any) -> Any:
            if not response.headers.get("Content-Type", b"").startswith(b"text/html"):
                return
            yield {"title": response.css("title::text").get(), "links": 0}
            for href in response.css("a::attr(href)").getall():
                yield response.follow(href, callback=self.parse)

    process = CrawlerProcess(
        settings={
            "CONCURRENT_REQUESTS": CONCURRENCY,
            "CONCURRENT_REQUESTS_PER_DOMAIN": CONCURRENCY,
            "ROBOTSTXT_OBEY": True,
            "LOG_LEVEL": "ERROR",
            "TELNETCONSOLE_ENABLED": False,
            "COOKIES_ENABLED": False,
            "RETRY_ENABLED": False,
            "USER_AGENT": "SEOPlatformBot/0.1",
            "ITEM_PIPELINES": {},
            "REQUEST_FINGERPRINTER_IMPLEMENTATION": "2.7",
        }
    )
    crawler = process.create_crawler(BenchSpider)
    started = time.perf_counter()
    process.crawl(crawler)
    process.start()
    elapsed = time.perf_counter() - started
    stats = crawler.stats.get_stats()
    pages = int(stats.get("downloader/response_count", 0)) - 1  # minus robots.txt
    return {"pages": pages, "seconds": elapsed}


# -- measuring ------------------------------------------------------------------------------


def measure(which: str, url: str) -> dict[str, Any]:
    """Run one crawler in a subprocess; sample the RSS of it and its children."""
    env = {**os.environ, "PYTHONPATH": str(BACKEND_DIR)}
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.crawl_speed", "--run", which, "--url", url],
        stdout=subprocess.PIPE,
        cwd=BACKEND_DIR,
        env=env,
    )
    watched = psutil.Process(process.pid)
    peak = 0
    while process.poll() is None:
        try:
            tree = [watched, *watched.children(recursive=True)]
            peak = max(peak, sum(p.memory_info().rss for p in tree if p.is_running()))
        except psutil.Error:
            pass
        time.sleep(0.1)
    assert process.stdout is not None
    result: dict[str, Any] = json.loads(process.stdout.read().decode().strip().splitlines()[-1])
    result["peak_rss_mb"] = peak / 1024 / 1024
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pages", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--only",
        choices=["ours", "scrapy"],
        help="run one crawler (no ratios): a before/after comparison of ours in half the time",
    )
    parser.add_argument("--run", choices=["ours", "scrapy"], help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.run:
        # Inside the measured subprocess: crawl, then report CPU of self + waited children.
        result = run_ours(args.url) if args.run == "ours" else run_scrapy(args.url)
        own = os.times()
        result["cpu_seconds"] = own.user + own.system + own.children_user + own.children_system
        print(json.dumps(result))
        return

    with tempfile.TemporaryDirectory(prefix="crawl-bench-") as tmp:
        work = Path(tmp)
        work.chmod(0o755)  # nginx's worker runs as an unprivileged user
        print(f"generating {args.pages} pages ...", flush=True)
        generate_site(work / "site", args.pages)
        port = free_port()
        nginx = start_nginx(work / "site", work, port)
        url = f"http://127.0.0.1:{port}/"
        crawlers = [args.only] if args.only else ["ours", "scrapy"]
        runs: dict[str, list[dict[str, Any]]] = {which: [] for which in crawlers}
        try:
            for round_number in range(1, args.repeat + 1):
                for which in crawlers if round_number % 2 else crawlers[::-1]:
                    result = measure(which, url)
                    runs[which].append(result)
                    print(
                        f"round {round_number} {which:>6}: {result['pages']} pages in "
                        f"{result['seconds']:.1f}s = {result['pages'] / result['seconds']:.0f} "
                        f"pages/s, CPU {result['cpu_seconds']:.1f}s, "
                        f"peak RSS {result['peak_rss_mb']:.0f} MB",
                        flush=True,
                    )
        finally:
            nginx.terminate()
            nginx.wait(timeout=10)

    def median(which: str, key: str) -> float:
        if key == "pages_per_second":
            return statistics.median(r["pages"] / r["seconds"] for r in runs[which])
        return statistics.median(float(r[key]) for r in runs[which])

    print(f"\nmedians of {args.repeat} runs, concurrency {CONCURRENCY}, {args.pages}-page site:")
    print(f"{'':8}{'pages/s':>10}{'CPU s':>10}{'peak RSS MB':>14}{'CPU ms/page':>14}")
    for which in crawlers:
        print(
            f"{which:8}{median(which, 'pages_per_second'):>10.0f}"
            f"{median(which, 'cpu_seconds'):>10.1f}{median(which, 'peak_rss_mb'):>14.1f}"
            f"{1000 * median(which, 'cpu_seconds') / runs[which][0]['pages']:>14.2f}"
        )
    if args.only:
        return
    speed = median("ours", "pages_per_second") / median("scrapy", "pages_per_second")
    memory = median("ours", "peak_rss_mb") / median("scrapy", "peak_rss_mb")
    # The same round's runs share the machine's conditions: their ratio is steadier.
    round_ratios = [
        (o["pages"] / o["seconds"]) / (s["pages"] / s["seconds"])
        for o, s in zip(runs["ours"], runs["scrapy"], strict=True)
    ]
    cpu_per_page = {w: 1000 * median(w, "cpu_seconds") / runs[w][0]["pages"] for w in runs}
    print(f"ours / scrapy: speed x{speed:.2f} (target >= 3), memory x{memory:.2f} (target <= 1)")
    print(
        f"median of per-round speed ratios x{statistics.median(round_ratios):.2f}; "
        f"CPU per page {cpu_per_page['ours']:.2f} ms vs {cpu_per_page['scrapy']:.2f} ms"
    )


if __name__ == "__main__":
    main()
