"""The platform's settings: one typed object, every default in this file.

`load_settings()` reads `FLASK_*` environment variables (the names Flask's
`from_prefixed_env` uses, so `FLASK_SQLALCHEMY_DATABASE_URI=...` keeps working), then the
caller's overrides (tests, the demo), validates them and fills the defaults that depend on
the instance folder. `create_app` loads it once, copies it into `app.config` for Flask and
its extensions, and hands it to domain code explicitly (`run_sweep(..., settings=...)`).

Field names are the `app.config` keys, upper-case, so a page may still read `config[...]`.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SHIPPED_PROFILE_DIR = Path(__file__).resolve().parents[1] / "profiles"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FLASK_", extra="allow", case_sensitive=True,
                                      validate_default=True)

    # --- where things live
    INSTANCE_PATH: Path = Path("instance")
    SQLALCHEMY_DATABASE_URI: str = ""          # "" -> sqlite:///<instance>/supervisor.db
    SQLALCHEMY_ENGINE_OPTIONS: dict[str, Any] = Field(default_factory=dict)
    SQLITE_BUSY_TIMEOUT_S: float = 60.0        # how long an SQLite writer waits for the lock
    EVIDENCE_DIR: Path | None = None           # None -> <instance>/evidence
    IMPORT_UPLOAD_DIR: Path | None = None      # None -> <instance>/imports
    # A folder of the operator's own standard profiles, searched before the shipped ones,
    # so a city adds `city-v1.yaml` without editing the installed package.
    PROFILE_DIR: Path | None = None

    # --- secrets (generated into the instance folder on first run when empty)
    SECRET_KEY: str = ""
    DEVICE_SECRET_KEY: str = ""

    # --- pages
    LOCAL_TIMEZONE: str = "Asia/Shanghai"      # reporting time zone: pages, exports, periods
    # --- reports
    REPORT_DIR: Path | None = None             # None -> <instance>/reports (archived PDFs)
    # Map tiles for the dashboard map, e.g. "https://tiles.example/{z}/{x}/{y}.png"; empty:
    # communities drawn on plain longitude/latitude axes (no tile server needed).
    REPORT_MAP_TILES: str = ""
    # The monthly PDF of the month before is built on this day of the month at this local hour.
    REPORT_MONTHLY_DAY: int = 1
    REPORT_MONTHLY_HOUR: int = 2
    LANGUAGES: list[str] = Field(default_factory=lambda: ["zh_CN", "en"])
    BABEL_DEFAULT_LOCALE: str = "zh_CN"
    BABEL_TRANSLATION_DIRECTORIES: str = str(Path(__file__).resolve().parents[1] / "translations")
    LOGIN_RATE_LIMIT: str = "10 per minute"          # failed logins per client address
    LOGIN_ACCOUNT_RATE_LIMIT: str = "5 per minute"   # failed logins per account (any address)
    RATELIMIT_STORAGE_URI: str = "memory://"
    MAX_CONTENT_LENGTH: int = 32 * 1024 * 1024
    SESSION_COOKIE_HTTPONLY: bool = True
    SESSION_COOKIE_SAMESITE: str = "Lax"

    # Server-side sessions: idle and absolute lifetimes; TLS turns the cookies' secure flag on.
    SESSION_IDLE_S: float = 2 * 3600.0
    SESSION_ABSOLUTE_S: float = 12 * 3600.0
    TLS: bool = False
    # Import jobs: an unconfirmed preview's encrypted file is deleted after this long; a job
    # whose process on another host gave no sign for this long is resumed elsewhere.
    IMPORT_PREVIEW_MAX_AGE_S: float = 3600.0
    IMPORT_JOB_STALE_S: float = 3600.0
    IMPORT_FIRST_WAIT_S: float = 2.0
    # Files the process creates (database, uploads, evidence) are readable by its user only.
    FILE_UMASK: int | None = 0o077

    # --- probing and storage
    PROBE_EXECUTOR: Literal["local", "celery"] = "local"
    PROBE_PROCESSES: int | None = None         # local probing processes; None: one per core
    # An ok fast probe of a settled device is kept one per this many seconds (0: keep all).
    HEALTH_FAST_SAMPLE_EVERY_S: float = 600.0
    # A full sweep reads a camera's clock every time; identity, services and stream/snapshot
    # addresses only when the last answer is older than this (0: every time).
    ONVIF_IDENTITY_EVERY_S: float = 86400.0
    # WS-Discovery of a community's cameras on acceptance (the standard's multicast port).
    WSDISCOVERY_PORT: int = Field(3702, ge=1, le=65535)
    WSDISCOVERY_TIMEOUT_S: float = Field(2.0, gt=0, le=60)

    # --- scheduler
    SCHEDULER_PROFILE: str = "default"
    SCHEDULER_TIERS: dict[str, dict[str, float]] | None = None  # {"fast": {"interval_s": 60}}
    SCHEDULER_SPREAD: float = 0.9
    SCHEDULER_SLICE_S: float = 10.0
    SCHEDULER_MIN_SLICE: int = 50
    SCHEDULER_LEASE_TTL_S: float = 30.0
    SCHEDULER_HOUSEKEEPING_S: float = 3600.0

    # --- Celery (production scale-out)
    CELERY_BROKER_URL: str | None = None
    CELERY_RESULT_BACKEND: str | None = None
    CELERY_QUEUE: str | None = None
    CELERY_CHUNK_SIZE: int = 100
    CELERY_FRAME_CHUNK_SIZE: int = 20
    CELERY_GRACE_S: float = 15.0
    CELERY_SECRET_KEY: str | None = None

    # --- Tickets and notifications
    TICKET_ATTACHMENT_DIR: str = ""            # "" -> <instance>/ticket-attachments
    TICKET_ATTACHMENT_MAX_BYTES: int = 8 * 1024 * 1024
    TICKET_PUBLIC_URL: str = ""                # link base in notifications (e.g. https://host)
    SMTP_HOST: str = "127.0.0.1"
    SMTP_PORT: int = 25
    SMTP_FROM: str = "supervisor@localhost"
    SMTP_USER: str | None = None
    SMTP_PASSWORD: str | None = None
    SMTP_STARTTLS: bool = False
    NOTIFY_TIMEOUT_S: float = 10.0
    NOTIFY_RETRY_BACKOFF_S: str = "60,300,900,3600,3600"   # when the profile has none
    COVERAGE_SNAPSHOT_HOUR: int = 1            # local hour of the daily coverage snapshot
    TICKET_SCAN_INTERVAL_S: float = 60.0       # the scheduler's ticket job: open, clocks, notify
    TICKET_VERIFY_PROBE: str = "inline"        # inline: "mark repaired" probes at once; off: the next sweep

    @field_validator("LOCAL_TIMEZONE")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            if value == "Asia/Shanghai":  # localtime has a fixed UTC+8 fallback for it
                return value
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    def resolved(self, instance_path: Path) -> "Settings":
        """A copy with the instance-relative defaults filled in."""
        inst = Path(instance_path)
        uri = self.SQLALCHEMY_DATABASE_URI or f"sqlite:///{inst / 'supervisor.db'}"
        engine = dict(self.SQLALCHEMY_ENGINE_OPTIONS)
        if uri.startswith("sqlite") and "connect_args" not in engine:
            # SQLite lets one writer at a time; the sweeps, the scheduler's job store and the
            # pages share the file, so a writer waits for the lock (up to this long) instead
            # of failing at once ("database is locked") as with the driver's 5 s default.
            engine["connect_args"] = {"timeout": float(self.SQLITE_BUSY_TIMEOUT_S)}
        return self.model_copy(update={
            "INSTANCE_PATH": inst,
            "SQLALCHEMY_ENGINE_OPTIONS": engine,
            "SQLALCHEMY_DATABASE_URI": uri,
            "EVIDENCE_DIR": Path(self.EVIDENCE_DIR or inst / "evidence"),
            "IMPORT_UPLOAD_DIR": Path(self.IMPORT_UPLOAD_DIR or inst / "imports"),
            "TICKET_ATTACHMENT_DIR": str(self.TICKET_ATTACHMENT_DIR or inst / "ticket-attachments"),
            "REPORT_DIR": Path(self.REPORT_DIR or inst / "reports"),
        })

    @property
    def profile_dirs(self) -> list[Path]:
        """Where standard profiles are looked for, first match wins."""
        dirs = [Path(self.PROFILE_DIR)] if self.PROFILE_DIR else []
        if SHIPPED_PROFILE_DIR not in dirs:
            dirs.append(SHIPPED_PROFILE_DIR)
        return dirs

    def flask_config(self) -> dict[str, Any]:
        """Everything as `app.config` keys (paths as strings)."""
        out = self.model_dump()
        # Cookies: HttpOnly and SameSite always; Secure whenever the site is served over TLS.
        out["SESSION_COOKIE_SECURE"] = bool(self.TLS or out.get("SESSION_COOKIE_SECURE"))
        out["REMEMBER_COOKIE_SECURE"] = out["SESSION_COOKIE_SECURE"]
        out["REMEMBER_COOKIE_HTTPONLY"] = True
        out["PERMANENT_SESSION_LIFETIME"] = int(self.SESSION_ABSOLUTE_S)
        for key, value in out.items():
            if isinstance(value, Path):
                out[key] = str(value)
        return out


def load_settings(instance_path: Path, overrides: dict[str, Any] | None = None) -> Settings:
    """Environment (`FLASK_*`), then `overrides`, validated; raises pydantic's ValidationError."""
    return Settings(**(overrides or {})).resolved(instance_path)
