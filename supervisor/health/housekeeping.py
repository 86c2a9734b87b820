"""The hourly housekeeping job: rollups of yesterday and today, raw-sample retention,
evidence pruning — every threshold from the standard profile's `retention` section."""
from __future__ import annotations

import datetime as dt
from typing import Any, Optional

from supervisor.core.clock import now as clock_now
from supervisor.core.extensions import db
from supervisor.core.settings import Settings
from supervisor.health import evidence
from supervisor.health.rulebook import rules_book
from supervisor.health.rules import HealthRules


def housekeeping(*, settings: Settings, now: Optional[dt.datetime] = None,
                 profile: Any = None) -> dict[str, int]:
    """Daily job (needs an app context): roll up yesterday and today, drop samples past
    `retention.raw_days`, prune evidence frames. Idempotent; safe to run any time."""
    from supervisor.health.store import housekeeping as store_housekeeping
    from supervisor.profiles.loader import load_profile

    now = now or clock_now()
    per_contract = profile is None
    profile = profile if profile is not None else load_profile()
    ret = profile.retention
    rules = rules_book(db.session, profile) if per_contract else HealthRules.from_profile(profile)
    out = store_housekeeping(db.session, now, rules, float(ret.raw_days))
    pruned = evidence.prune(db.session, settings.EVIDENCE_DIR, now,
                            float(ret.evidence_mb), float(ret.evidence_days))
    out.update({f"evidence_{k}": v for k, v in pruned.items()})
    db.session.commit()
    return out
