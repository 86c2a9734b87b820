"""Channels: e-mail over SMTP and webhooks (JSON POST). Message formats are templates of the
payload: ``text`` (e-mail), ``json`` (the payload as is), ``wecom`` and ``dingtalk`` (their
group-robot markdown messages). Senders raise `DeliveryError` with what went wrong."""
from __future__ import annotations

import json
import smtplib
from email.message import EmailMessage
from typing import Any, Mapping, Optional

import httpx

EVENT_ZH = {"opened": "新工单", "near_breach": "即将超时", "breached": "已超时",
            "reopened": "复核未通过，已重开", "verified": "已修复并核验"}
SEVERITY_ZH = {"critical": "紧急", "major": "重要", "minor": "一般"}


class DeliveryError(Exception):
    pass


def _lines(p: Mapping[str, Any], link: Optional[str]) -> list[str]:
    lines = [f"工单 #{p.get('ticket')}：{p.get('title')}",
             f"事件：{EVENT_ZH.get(p.get('event', ''), p.get('event'))}",
             f"级别：{SEVERITY_ZH.get(p.get('severity', ''), p.get('severity'))}",
             f"设备：{p.get('device_name')}（{p.get('device')}）",
             f"合同：{p.get('contract')}"]
    if p.get("repair_due_local"):
        lines.append(f"修复期限：{p['repair_due_local']}")
    if link:
        lines.append(f"查看：{link}")
    return lines


def render(fmt: str, payload: Mapping[str, Any], link: Optional[str] = None) -> tuple[str, Any]:
    """(subject, body) for a format: body is text for ``text``, a dict for the others."""
    subject = (f"[{SEVERITY_ZH.get(payload.get('severity', ''), '')}] "
               f"{EVENT_ZH.get(payload.get('event', ''), payload.get('event'))} #{payload.get('ticket')}")
    lines = _lines(payload, link)
    if fmt == "text":
        return subject, "\n".join(lines) + "\n"
    if fmt == "wecom":
        return subject, {"msgtype": "markdown", "markdown": {"content": "**" + subject + "**\n" + "\n".join(
            "> " + line for line in lines)}}
    if fmt == "dingtalk":
        return subject, {"msgtype": "markdown", "markdown": {"title": subject, "text": "### " + subject + "\n\n" + "\n\n".join(
            "- " + line for line in lines)}}
    return subject, dict(payload, link=link)


def send_email(settings: Any, to: str, subject: str, body: str) -> str:
    msg = EmailMessage()
    msg["From"] = settings.SMTP_FROM
    msg["To"] = to
    msg["Subject"] = subject
    msg.set_content(body)
    try:
        with smtplib.SMTP(settings.SMTP_HOST, settings.SMTP_PORT, timeout=settings.NOTIFY_TIMEOUT_S) as smtp:
            if settings.SMTP_STARTTLS:
                smtp.starttls()
            if settings.SMTP_USER:
                smtp.login(settings.SMTP_USER, settings.SMTP_PASSWORD or "")
            refused = smtp.send_message(msg)
    except (OSError, smtplib.SMTPException) as exc:
        raise DeliveryError(f"smtp: {type(exc).__name__}: {exc}") from None
    if refused:
        raise DeliveryError(f"smtp: refused {sorted(refused)}")
    return f"smtp {settings.SMTP_HOST}:{settings.SMTP_PORT} accepted"


def send_webhook(settings: Any, url: str, body: Any) -> str:
    try:
        resp = httpx.post(url, content=json.dumps(body, ensure_ascii=False).encode("utf-8"),
                          headers={"Content-Type": "application/json; charset=utf-8"},
                          timeout=settings.NOTIFY_TIMEOUT_S)
    except httpx.HTTPError as exc:
        raise DeliveryError(f"webhook: {type(exc).__name__}: {exc}") from None
    if resp.status_code // 100 != 2:
        raise DeliveryError(f"webhook: HTTP {resp.status_code}")
    # WeCom and DingTalk robots answer 200 with an errcode.
    try:
        answer = resp.json()
    except ValueError:
        answer = None
    if isinstance(answer, dict) and answer.get("errcode") not in (None, 0):
        raise DeliveryError(f"webhook: errcode {answer.get('errcode')} {answer.get('errmsg', '')}")
    return f"webhook HTTP {resp.status_code}"
