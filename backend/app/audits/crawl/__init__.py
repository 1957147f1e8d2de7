"""The crawl engine: fetching (bounded, SSRF-guarded), robots.txt, sitemaps, URL rules and
HTML parsing in subprocesses."""
