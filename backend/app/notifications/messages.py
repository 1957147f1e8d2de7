"""What the messages say: the email of each event (plain text and HTML), built from the
delivery's payload (the same facts the webhook carries)."""

import html
from typing import Any

from app.notifications.mailer import Email

# What to do after a failure, by the job runtime's error category (app.jobs.errors).
ADVICE = {
    "network": "The site or a provider could not be reached. It is retried automatically; if "
    "it keeps failing, check that the site is up.",
    "timeout": "A request took too long. Retry later; if it persists, check the site's speed.",
    "rate_limited": "A provider limited our requests. It will work again later; lower the "
    "project's volume if it happens often.",
    "upstream_error": "A provider answered with an error. Retry later.",
    "unauthorized": "The provider refused the credentials. Reconnect the integration in the "
    "project's settings.",
    "not_found": "Something the job needs no longer exists (a property, an account, a page). "
    "Check the project's settings.",
    "invalid_input": "The job's settings were refused. Check the project's settings, then retry.",
    "blocked_address": "The site resolves to a private address, which audits do not reach.",
    "worker_lost": "The worker running the job stopped. Retry the job.",
    "queue_stalled": "No worker takes this kind of job. Ask the operator to start one.",
    "time_limit": "The job ran out of time; its partial result is kept. Lower the crawl limits "
    "or retry.",
    "database": "The database was unavailable. Retry the job.",
}
DEFAULT_ADVICE = "Open the job for details, then retry it from the dashboard."


def advice(category: str | None) -> str:
    return ADVICE.get(category or "", DEFAULT_ADVICE)


def _place(position: int | None, depth: int | None) -> str:
    return f"#{position}" if position is not None else f"not in the top {depth}"


def rank_drop_line(entry: dict[str, Any]) -> str:
    """One keyword's move: "shoes (US, en, desktop): #3 -> #12 (-9), https://..."."""
    where = ", ".join(
        str(part)
        for part in (entry.get("country"), entry.get("language"), entry.get("device"))
        if part
    )
    if entry.get("location"):
        where += f", {entry['location']}"
    lost = entry.get("places_lost")
    change = (
        "" if lost is None else f" ({-lost:+d}{' or more' if entry.get('out_of_depth') else ''})"
    )
    url = entry.get("url") or entry.get("previous_url")
    return (
        f"{entry.get('keyword')} ({where}): "
        f"{_place(entry.get('previous_position'), entry.get('previous_depth'))} -> "
        f"{_place(entry.get('position'), entry.get('depth'))}{change}" + (f", {url}" if url else "")
    )


def _footer(unsubscribe_url: str | None) -> tuple[str, str]:
    if unsubscribe_url is None:
        return "", ""
    return (
        f"\n\nStop these emails: {unsubscribe_url}\n",
        f'<p style="color:#666;font-size:12px"><a href="{html.escape(unsubscribe_url)}">'
        "Unsubscribe</a></p>",
    )


def _page(
    title: str, paragraphs: list[str], items: list[str], link: tuple[str, str] | None, footer: str
) -> str:
    parts = [f"<h2>{html.escape(title)}</h2>"]
    parts += [f"<p>{html.escape(p)}</p>" for p in paragraphs]
    if items:
        parts.append("<ul>" + "".join(f"<li>{html.escape(i)}</li>" for i in items) + "</ul>")
    if link is not None:
        parts.append(f'<p><a href="{html.escape(link[1])}">{html.escape(link[0])}</a></p>')
    return "<html><body>" + "".join(parts) + footer + "</body></html>"


def compose(
    *,
    to: str,
    title: str,
    paragraphs: list[str],
    items: list[str] | None = None,
    link: tuple[str, str] | None = None,
    unsubscribe_url: str | None = None,
) -> Email:
    """An email whose text and HTML parts say the same."""
    items = items or []
    text_footer, html_footer = _footer(unsubscribe_url)
    text = "\n\n".join([title, *paragraphs])
    if items:
        text += "\n\n" + "\n".join(f"- {item}" for item in items)
    if link is not None:
        text += f"\n\n{link[0]}: {link[1]}"
    text += text_footer
    return Email(
        to=to,
        subject=title,
        text=text,
        html=_page(title, paragraphs, items, link, html_footer),
        unsubscribe_url=unsubscribe_url,
    )


def event_email(payload: dict[str, Any], *, to: str, unsubscribe_url: str | None) -> Email:
    """The email of an event's payload (see dispatch.event_payload)."""
    kind = payload["type"]
    project = payload.get("project") or {}
    job = payload.get("job") or {}
    data = payload.get("data") or {}
    site = project.get("name") or project.get("site_url") or "your project"
    link = ("Open in the dashboard", str(payload["dashboard_url"]))
    common: dict[str, Any] = {"to": to, "link": link, "unsubscribe_url": unsubscribe_url}
    if kind == "audit.finished" or kind == "audit.new_errors":
        score = data.get("score")
        previous = data.get("previous_score")
        change = "" if previous is None or score is None else f" (was {previous})"
        top = [
            f"{entry['title']} ({entry['severity']}): {entry['count']} URL(s)"
            for entry in data.get("top_new_issues", [])
        ]
        title = (
            f"Audit of {site}: {data.get('new_issues', 0)} new problem(s)"
            if kind == "audit.new_errors"
            else f"Audit of {site} finished: score {score}{change}"
        )
        paragraphs = [
            f"Score: {score}{change}.",
            f"New issues: {data.get('new_issues', 0)}; fixed since the previous audit: "
            f"{data.get('fixed_issues', 0)}.",
        ]
        if top:
            paragraphs.append("Top new problems:")
        return compose(title=title, paragraphs=paragraphs, items=top, **common)
    if kind == "rank.dropped":
        keywords = data.get("keywords") or []
        count = data.get("count", len(keywords))
        items = [rank_drop_line(entry) for entry in keywords]
        paragraphs = [
            f"The latest rank check found {count} keyword(s) more than "
            f"{data.get('threshold')} places lower than at their previous check."
        ]
        if data.get("truncated"):
            paragraphs.append(f"The {len(keywords)} biggest drops:")
        return compose(
            title=f"Rank drops for {site}: {count} keyword(s)",
            paragraphs=paragraphs,
            items=items,
            **common,
        )
    if kind == "job.failed":
        error = job.get("error") or {}
        return compose(
            title=f"{job.get('label', job.get('type'))} failed for {site}",
            paragraphs=[
                f"Error: {error.get('category')} - {error.get('message')}",
                f"What to do: {advice(error.get('category'))}",
            ],
            **common,
        )
    if kind == "sync.failing":
        return compose(
            title=f"{job.get('label', job.get('type'))} has failed two days in a row for {site}",
            paragraphs=[
                f"The latest error: {(job.get('error') or {}).get('message')}",
                f"What to do: {advice((job.get('error') or {}).get('category'))}",
            ],
            **common,
        )
    return compose(
        title=f"{job.get('label', job.get('type'))} {job.get('status')} for {site}",
        paragraphs=[payload.get("summary") or ""],
        **common,
    )
