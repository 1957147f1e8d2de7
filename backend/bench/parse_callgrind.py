"""Instructions per page of the parse path, counted by callgrind: a figure that a busy
machine does not move (CPU seconds do: other processes share the caches and the cores).

    cd backend && uv run python -m bench.parse_callgrind [--pages 1500] [--site-pages 5000]

Generates the crawl-speed bench's site (its pages link at random across `--site-pages`
pages, so the URL normalization cache sees what a crawl of it sees), then runs the parse
worker's `parse_page` over the first `--pages` pages in one process under
`valgrind --tool=callgrind`, once with no page and once with them: the difference of the
instruction totals, per page, is the parse path's cost (start-up and imports cancel out).
It also reports the peak RSS of the parsing process without valgrind.
"""

import argparse
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.crawl_speed import generate_site

BACKEND_DIR = Path(__file__).resolve().parents[1]
ORIGIN = "http://127.0.0.1:8080"


def run(site: Path, pages: int) -> None:
    """Inside the measured process: parse `pages` pages, as the parse worker does."""
    from app.audits.crawl.parse_worker import ParseSettings, parse_page
    from app.audits.page import CrawledPage

    how = ParseSettings(
        site=ORIGIN + "/",
        include_subdomains=False,
        tracking_params=("utm_*", "gclid", "fbclid"),
        bot_token="seoplatformbot",
    )
    bodies = [(site / "p" / f"{i}.html").read_bytes() for i in range(pages)]
    links = 0
    for i, body in enumerate(bodies):
        url = f"{ORIGIN}/p/{i}.html"
        page = CrawledPage(url=url, depth=1, final_url=url, status_code=200, is_html=True)
        parse_page(page, body, "utf-8", how)
        links += len(page.links)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"pages": pages, "links": links, "peak_rss_mb": peak}))


def instructions(site: Path, pages: int, work: Path) -> int:
    out = work / f"callgrind.{pages}.out"
    subprocess.run(
        [
            "valgrind",
            "--tool=callgrind",
            f"--callgrind-out-file={out}",
            sys.executable,
            "-m",
            "bench.parse_callgrind",
            "--run",
            str(site),
            "--pages",
            str(pages),
        ],
        cwd=BACKEND_DIR,
        env={**os.environ, "PYTHONPATH": str(BACKEND_DIR), "PYTHONHASHSEED": "0"},
        check=True,
        capture_output=True,
    )
    match = re.search(r"^(?:summary|totals): (\d+)", out.read_text(), re.MULTILINE)
    if match is None:
        sys.exit(f"no instruction total in {out}")
    return int(match.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pages", type=int, default=1500)
    parser.add_argument("--site-pages", type=int, default=5000)
    parser.add_argument("--run", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run:
        run(Path(args.run), args.pages)
        return
    if shutil.which("valgrind") is None:
        sys.exit("valgrind is missing: apt-get install -y valgrind")
    with tempfile.TemporaryDirectory(prefix="parse-callgrind-") as tmp:
        work = Path(tmp)
        generate_site(work / "site", args.site_pages)
        plain = subprocess.run(
            [sys.executable, "-m", "bench.parse_callgrind", "--run", str(work / "site"),
             "--pages", str(args.pages)],
            cwd=BACKEND_DIR,
            env={**os.environ, "PYTHONPATH": str(BACKEND_DIR)},
            check=True,
            capture_output=True,
            text=True,
        )  # fmt: skip
        result = json.loads(plain.stdout.strip().splitlines()[-1])
        empty = instructions(work / "site", 0, work)
        full = instructions(work / "site", args.pages, work)
    per_page = (full - empty) / args.pages
    print(
        f"parse path, {args.pages} pages of a {args.site_pages}-page site "
        f"({result['links']} links): {per_page:,.0f} instructions per page "
        f"(callgrind Ir; start-up {empty:,} subtracted); peak RSS without valgrind "
        f"{result['peak_rss_mb']:.1f} MB"
    )


if __name__ == "__main__":
    main()
