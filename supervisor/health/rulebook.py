"""Which rules judge which device: each device by its contract's standard profile version."""
from __future__ import annotations

import logging
from typing import Any, Optional

import sqlalchemy as sa

from supervisor.health.rules import HealthRules, RulesBook
from supervisor.inventory.models import Contract, Device

log = logging.getLogger(__name__)


def rules_book(session: Any, profile: Any, device_ids: Optional[list[int]] = None) -> RulesBook:
    """Each device judged by its contract's profile version; the given profile otherwise.

    A contract profile that can't be loaded (missing, or edited after first use) falls back
    to the default with a logged error: the sweep must go on, the profile check reports it.
    """
    from supervisor.profiles.loader import ProfileError, load_profile

    book = RulesBook(HealthRules.from_profile(profile))
    q = sa.select(Device.id, Contract.profile_name, Contract.profile_version).join(
        Contract, Contract.id == Device.contract_id)
    if device_ids is not None:
        q = q.where(Device.id.in_(device_ids))
    cache: dict[tuple[str, int], HealthRules] = {}
    for dev, name, version in session.execute(q):
        key = (name, int(version))
        if key == (getattr(profile, "name", None), getattr(profile, "version", None)):
            continue
        if key not in cache:
            try:
                cache[key] = HealthRules.from_profile(load_profile(name, version))
            except ProfileError as exc:
                log.error("contract profile %s@%s unusable, judging by %s: %s", name, version,
                          book.default.profile, exc)
                cache[key] = book.default
        book.by_device[dev] = cache[key]
    return book
