"""Photos attached to tickets: images only (decoded by Pillow, not trusted by name or type),
size-capped, stored under the instance folder by sha256 with a thumbnail.

``store_photo(session, root, ticket, data, filename, actor, now, max_bytes)`` adds a
`TicketAttachment` and an ``attachment`` event; raises `TicketError` with a code:
``too_large``, ``not_image``, ``empty``.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import io
from pathlib import Path
from typing import Any, Optional

from sqlalchemy.orm import Session

from supervisor.tickets import service
from supervisor.tickets.models import Ticket, TicketAttachment

FORMATS = {"JPEG": ("image/jpeg", "jpg"), "PNG": ("image/png", "png"), "WEBP": ("image/webp", "webp")}
THUMB_PX = 320
MAX_PIXELS = 50_000_000


def store_photo(session: Session, root: Path | str, ticket: Ticket, data: bytes, filename: str,
                actor: Any, now: dt.datetime, max_bytes: int) -> TicketAttachment:
    from PIL import Image, UnidentifiedImageError

    if not data:
        raise service.TicketError("empty", "the file is empty")
    if len(data) > max_bytes:
        raise service.TicketError("too_large", "the photo is larger than allowed")
    try:
        with Image.open(io.BytesIO(data)) as probe:
            fmt = probe.format
            if fmt not in FORMATS or probe.width * probe.height > MAX_PIXELS:
                raise service.TicketError("not_image", "only JPEG, PNG or WebP photos")
            probe.verify()
        with Image.open(io.BytesIO(data)) as img:
            img.load()
            width, height = img.size
            thumb = img.convert("RGB")
            thumb.thumbnail((THUMB_PX, THUMB_PX))
    except service.TicketError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise service.TicketError("not_image", "only JPEG, PNG or WebP photos") from None
    sha = hashlib.sha256(data).hexdigest()
    ctype, ext = FORMATS[fmt]
    folder = Path(root) / str(ticket.id)
    folder.mkdir(parents=True, exist_ok=True)
    rel = f"{ticket.id}/{sha}.{ext}"
    rel_thumb = f"{ticket.id}/{sha}.thumb.jpg"
    (Path(root) / rel).write_bytes(data)
    buf = io.BytesIO()
    thumb.save(buf, "JPEG", quality=80)
    (Path(root) / rel_thumb).write_bytes(buf.getvalue())
    ev = service.act(session, ticket, "attachment", now, actor, filename=filename[:200], sha256=sha)
    row = TicketAttachment(ticket_id=ticket.id, event_seq=ev.seq, filename=filename[:200] or "photo",
                           stored=rel, thumb=rel_thumb, content_type=ctype, size=len(data), sha256=sha,
                           width=width, height=height, uploaded_by_id=getattr(actor, "id", None),
                           uploaded_at=now)
    session.add(row)
    session.flush()
    return row


def safe_path(root: Path | str, rel: str) -> Optional[Path]:
    base = Path(root).resolve()
    path = (base / rel).resolve()
    return path if base in path.parents and path.is_file() else None
