"""Email over SMTP (stdlib smtplib): one message with a plain-text and an HTML part, and the
List-Unsubscribe headers (RFC 2369 link, RFC 8058 one-click POST). With no SMTP_HOST the
platform sends no email: `configured()` is false and deliveries are recorded `skipped`."""

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from app.core.config import settings


class EmailNotConfiguredError(Exception):
    """SMTP_HOST is not set."""


@dataclass(frozen=True, slots=True)
class Email:
    to: str
    subject: str
    text: str
    html: str
    unsubscribe_url: str | None = None


def configured() -> bool:
    return bool(settings.SMTP_HOST)


def build_message(email: Email) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.EMAIL_FROM
    message["To"] = email.to
    message["Subject"] = email.subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain="seo-platform")
    if email.unsubscribe_url is not None:
        message["List-Unsubscribe"] = f"<{email.unsubscribe_url}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(email.text)
    message.add_alternative(email.html, subtype="html")
    return message


def send(email: Email) -> None:
    """Sends one message; raises EmailNotConfiguredError, smtplib.SMTPException or OSError."""
    if not settings.SMTP_HOST:
        raise EmailNotConfiguredError("no SMTP server is configured (SMTP_HOST)")
    message = build_message(email)
    host, port, timeout = settings.SMTP_HOST, settings.SMTP_PORT, settings.SMTP_TIMEOUT
    client: smtplib.SMTP
    if settings.SMTP_TLS == "tls":
        client = smtplib.SMTP_SSL(host, port, timeout=timeout, context=ssl.create_default_context())
    else:
        client = smtplib.SMTP(host, port, timeout=timeout)
    with client:
        if settings.SMTP_TLS == "starttls":
            client.starttls(context=ssl.create_default_context())
        if settings.SMTP_USER:
            client.login(settings.SMTP_USER, settings.SMTP_PASSWORD or "")
        client.send_message(message)
