"""The default-credentials list (data with sources) and which entries a device is tried with."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

DEFAULT_FILE = Path(__file__).with_name("default_credentials.yaml")


@dataclass(frozen=True)
class DefaultLogin:
    username: str
    password: str
    source: str
    vendors: tuple[str, ...]


@lru_cache(maxsize=4)
def load(path: str | None = None) -> tuple[DefaultLogin, ...]:
    """Entries of the list; a malformed file raises ValueError naming the entry."""
    doc = yaml.safe_load(Path(path or DEFAULT_FILE).read_text(encoding="utf-8")) or {}
    out = []
    for i, e in enumerate(doc.get("entries") or []):
        try:
            out.append(DefaultLogin(str(e["username"]), str(e["password"]), str(e["source"]),
                                    tuple(str(v).lower() for v in e.get("vendors") or ["any"])))
        except (KeyError, TypeError) as exc:
            raise ValueError(f"default credentials entry {i + 1}: missing {exc}") from None
    return tuple(out)


def for_vendor(vendor: str | None, own: tuple[str | None, str | None] = (None, None),
               path: str | None = None) -> list[DefaultLogin]:
    """The logins to try on a device of `vendor`: its vendor's, then the generic ones; a
    login equal to the device's own configured account is left out (that one is known)."""
    v = (vendor or "").strip().lower()
    # "Hikvision Digital Technology" is Hikvision; "HIK" is too short to say which vendor.
    picked = [e for e in load(path) if v and any(
        v.startswith(x) or (len(v) >= 4 and x.startswith(v)) for x in e.vendors if x != "any")]
    picked += [e for e in load(path) if "any" in e.vendors]
    seen: set[tuple[str, str]] = set()
    out = []
    for e in picked:
        key = (e.username, e.password)
        if key in seen or key == own:
            continue
        seen.add(key)
        out.append(e)
    return out
