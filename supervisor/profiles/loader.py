"""Loading standard profiles: versioned YAML files ``NAME-vVERSION.yaml``, looked for in the
operator's folder (setting ``PROFILE_DIR``) and then in the shipped folder beside this module.

Public API::

    configure(dirs, engine)                                     # create_app does this once
    load_profile(name="default", version=None) -> Profile     # latest version when None; cached
    profile_for(contract) -> Profile                            # the version a contract names
    list_profiles() -> list[ProfileInfo]
    record_use(profile, session, actor=None) -> ProfileUse      # a contract starts using a version
    check_profiles() -> list[str]                               # problems, as `flask profiles check`

"A version in use by a contract can't be edited, only superseded": ``record_use`` stores the
sha256 of the file's parsed content in ``profile_uses`` the first time a contract uses it
(comments and layout don't count; every key and value does); loading a file whose content then
differs raises ``ProfileInUseError``. The check reads the database through the engine given to
``configure`` (or an explicit ``engine=``), so it holds in a web request, a CLI command, a
worker or a report job alike; asking for it with no database known is an error, never a skip.
"""
from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from supervisor.profiles.schema import (  # noqa: F401  (API)
    FILE_RE, Profile, ProfileError, ProfileInUseError, RoleSlot, parse_profile,
)

DEFAULT_DIR = Path(__file__).resolve().parent

# ---------------------------------------------------------------- loading

@dataclass(frozen=True)
class ProfileInfo:
    name: str
    version: int
    title: str
    path: Path
    sha256: str
    supersedes: str | None
    error: str | None = None


_lock = threading.Lock()
_cache: dict[Path, tuple[tuple[int, int], Profile]] = {}
_verified: set[tuple[str, str, str]] = set()  # (database url, profile key, sha256) known good


_dirs: list[Path] = [DEFAULT_DIR]
_engine: Engine | None = None


def configure(dirs: list[Path] | None, engine: Engine | None) -> None:
    """The folders to search (first match wins) and the database that holds the in-use lock."""
    global _dirs, _engine
    _dirs = [Path(d) for d in dirs] if dirs else [DEFAULT_DIR]
    _engine = engine


def profile_dirs() -> list[Path]:
    return list(_dirs)


def profile_dir() -> Path:
    """The first folder searched: the operator's own when one is set, else the shipped one."""
    return _dirs[0]


def _read(path: Path) -> Profile:
    """Parses a file, cached by (mtime, size); checks the file name agrees with its contents."""
    try:
        st = path.stat()
    except OSError as exc:
        raise ProfileError(f"{path.name}: (file): cannot read: {exc.strerror}") from None
    stamp = (st.st_mtime_ns, st.st_size)
    with _lock:
        hit = _cache.get(path)
        if hit and hit[0] == stamp:
            return hit[1]
    profile = parse_profile(path.read_bytes(), path.name)
    m = FILE_RE.match(path.name)
    if not m or m.group("name") != profile.name or int(m.group("version")) != profile.version:
        raise ProfileError(
            f"{path.name}: name/version: the file must be named "
            f"{profile.name}-v{profile.version}.yaml to match its name and version keys")
    profile._path = path
    with _lock:
        _cache[path] = (stamp, profile)
    return profile


def _files(directory: Path) -> list[tuple[str, int, Path]]:
    out = []
    for path in sorted(directory.glob("*.y*ml")):
        m = FILE_RE.match(path.name)
        if m:
            out.append((m.group("name"), int(m.group("version")), path))
    return out


def _recorded_sha(name: str, version: int, engine: Engine | None = None) -> str | None:
    """The hash recorded when a contract first used the version (None: not in use)."""
    from supervisor.profiles.models import ProfileUse

    engine = engine or _engine
    if engine is None:
        raise ProfileError(f"{name}-v{version}.yaml: (file): cannot check whether it is in use: "
                           f"no database configured (profiles.configure)")
    try:  # own connection: a missing table must not spoil the caller's transaction
        with engine.connect() as conn:
            return conn.execute(select(ProfileUse.sha256).where(
                ProfileUse.name == name, ProfileUse.version == version)).scalar()
    except SQLAlchemyError:  # a database not yet migrated has no profile in use
        return None


def _check_in_use(profile: Profile, engine: Engine | None = None) -> None:
    engine = engine or _engine
    token = (str(engine.url) if engine is not None else "", profile.key, profile.sha256)
    if token in _verified:
        return
    recorded = _recorded_sha(profile.name, profile.version, engine)
    if recorded and recorded not in (profile.sha256, profile._file_sha256):
        fname = profile.path.name if profile.path else profile.key
        raise ProfileInUseError(
            f"{fname}: (file): profile {profile.key} is in use by a contract and was edited "
            f"after its first use (sha256 {profile.sha256[:12]} != recorded {recorded[:12]}); "
            f"restore the file and put the changes in a new version "
            f"({profile.name}-v{profile.version + 1}.yaml with supersedes: {profile.key})")
    _verified.add(token)


def _find(name: str, version: int | None, dirs: list[Path]) -> Path:
    for base in dirs:
        if version is None:
            versions = [(v, p) for n, v, p in _files(base) if n == name]
            if versions:
                return max(versions)[1]
        else:
            path = base / f"{name}-v{int(version)}.yaml"
            if path.exists():
                return path
    where = ", ".join(str(d) for d in dirs)
    if version is None:
        raise ProfileError(f"{name}-v*.yaml: (file): no profile named {name!r} in {where}")
    raise ProfileError(f"{name}-v{int(version)}.yaml: (file): no such profile file in {where}")


def load_profile(name: str = "default", version: int | None = None, *,
                 directory: Path | str | None = None, check_in_use: bool = True,
                 engine: Engine | None = None) -> Profile:
    """The validated profile NAME at VERSION (the highest version when None).

    Looked for in `directory` when given, else in the configured folders (the operator's
    first). Unless `check_in_use` is False, a version a contract uses must be unedited.
    """
    dirs = [Path(directory)] if directory else _dirs
    profile = _read(_find(name, version, dirs))
    if check_in_use:
        _check_in_use(profile, engine)
    return profile


def profile_for(contract: Any) -> Profile:
    """The profile version a contract is judged by (``contract.profile_name/profile_version``)."""
    return load_profile(contract.profile_name, contract.profile_version)


def list_profiles(directory: Path | str | None = None) -> list[ProfileInfo]:
    """Every NAME-vN.yaml in the profile folder; invalid ones carry their error."""
    bases = [Path(directory)] if directory else _dirs
    out = []
    seen: set[tuple[str, int]] = set()
    for name, version, path in (f for base in bases for f in _files(base)):
        if (name, version) in seen:  # the operator's file shadows a shipped one
            continue
        seen.add((name, version))
        try:
            p = _read(path)
            out.append(ProfileInfo(p.name, p.version, p.title, path, p.sha256, p.supersedes))
        except ProfileError as exc:
            sha = ""
            out.append(ProfileInfo(name, version, "", path, sha, None, str(exc)))
    return out


def record_use(profile: Profile, session: Session, actor: Any = None) -> Any:
    """Records that a contract uses this version (first use wins); the caller commits."""
    from supervisor.core import audit
    from supervisor.profiles.models import ProfileUse

    row = session.execute(select(ProfileUse).where(
        ProfileUse.name == profile.name, ProfileUse.version == profile.version)).scalar()
    if row is not None:
        if row.sha256 not in (profile.sha256, profile._file_sha256):
            _check_in_use(profile, session.get_bind())  # raises with the full message
        return row
    row = ProfileUse(name=profile.name, version=profile.version, sha256=profile.sha256)
    session.add(row)
    audit.record(actor, "lock", "profile", profile.key, None, {"sha256": profile.sha256},
                 note="first used by a contract: this version can no longer be edited")
    return row


def _file_sha(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return ""


def check_profiles(directory: Path | str | None = None) -> list[str]:
    """Every problem found: invalid files, edited in-use versions, contracts without a profile."""
    problems: list[str] = []
    infos = list_profiles(directory)
    known = {(i.name, i.version) for i in infos}
    for info in infos:
        if info.error:
            problems.append(info.error)
            continue
        # Without a database (a file check before deploying) nothing can be in use yet.
        recorded = _recorded_sha(info.name, info.version) if _engine is not None else None
        if recorded and recorded != info.sha256 and recorded != _file_sha(info.path):
            problems.append(
                f"{info.path.name}: (file): in use by a contract and edited after its first use "
                f"(sha256 {info.sha256[:12]} != recorded {recorded[:12]}): supersede it instead")
        if info.supersedes:
            sname, _, sver = info.supersedes.partition("@")
            if (sname, int(sver)) not in known:
                problems.append(f"{info.path.name}: supersedes: no profile {info.supersedes}")
    if _engine is not None:
        from supervisor.inventory.models import Contract

        try:
            with _engine.connect() as conn:
                used = conn.execute(select(Contract.code, Contract.profile_name,
                                           Contract.profile_version)).all()
        except SQLAlchemyError:
            used = []
        for code, pname, pver in used:
            if (pname, pver) not in known:
                problems.append(f"contract {code}: profile {pname}@{pver} has no file")
    return problems
