# ruff: noqa: RUF001 - Chinese text uses full-width punctuation.
"""A Chinese site: text without spaces between words. Its pages are not thin (words count
per character), its titles are measured at their full width, and one page is thin."""

import random

from tests.audits.corpus.common import HSTS, SECURITY_HEADERS, Page, robots, sitemap
from tests.fakes.site_server import Route


def hanzi(seed: str, count: int) -> str:
    rng = random.Random(seed)
    chars = [chr(rng.randint(0x4E00, 0x9FA5)) for _ in range(count)]
    return "".join(c + ("。" if i % 20 == 19 else "") for i, c in enumerate(chars))


NAV = [("/", "首页"), ("/tea", "中国茶的种类"), ("/short", "简短的说明")]


def routes(base: str) -> dict[str, Route]:
    headers = {**SECURITY_HEADERS, **HSTS}
    pages = [
        Page("/", "中国茶文化与茶叶知识介绍", "介绍中国茶文化的历史、茶叶的种类、冲泡方法以及"
             "各地的饮茶习惯，帮助读者了解和欣赏中国茶。", "中国茶文化", lang="zh-CN",
             body=f"<p>{hanzi('home', 320)}</p>", words=0),
        Page("/tea", "中国茶的种类：绿茶、红茶、乌龙茶和普洱茶的区别与特点详细介绍和冲泡指南",
             "绿茶、红茶、乌龙茶、白茶、黄茶和黑茶的区别，以及每一种茶的产地、口感和适合的"
             "冲泡温度。", "中国茶的种类", lang="zh-CN", body=f"<p>{hanzi('tea', 400)}</p>",
             words=0),
        Page("/short", "关于本站的简短说明和联系方式", "本站的简短说明：我们是谁，为什么写这些"
             "文章，以及如何与我们联系和提出建议。", "简短的说明", lang="zh-CN",
             body=f"<p>{hanzi('short', 60)}</p>", words=0),
    ]  # fmt: skip
    found = {
        page.path: Page(**{**page.__dict__, "nav": NAV}).route(base, extra_headers=headers)
        for page in pages
    }
    found["/robots.txt"] = robots(base)
    found["/sitemap.xml"] = sitemap(base, [page.path for page in pages])
    return found


PAGES_BY_STATUS = {"2xx": 3}
# Every count, checked by hand.
EXPECTED: dict[str, int] = {
    "thin_content": 1,  # /short: 60 characters; the others count hundreds
    "title_too_long": 1,  # /tea: 40 characters, 800 px
}
