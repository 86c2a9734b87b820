"""`flask profiles list|check`."""
from __future__ import annotations

import click
from flask import Flask

from supervisor.profiles.loader import _recorded_sha, check_profiles, list_profiles

@click.group("profiles", help="Standard profiles: list and check.")
def profiles_cli() -> None:
    pass


@profiles_cli.command("list")
def list_cmd() -> None:
    """Lists the profile versions found, with their hash and state."""
    for info in list_profiles():
        state = "INVALID" if info.error else (
            "in use" if _recorded_sha(info.name, info.version) else "editable")
        sup = f"  supersedes {info.supersedes}" if info.supersedes else ""
        click.echo(f"{info.name}@{info.version}  {state:8}  {info.sha256[:12]}  "
                   f"{info.title}{sup}")


@profiles_cli.command("check")
def check_cmd() -> None:
    """Validates every profile file; exit status 1 on any problem."""
    problems = check_profiles()
    for line in problems:
        click.echo(line, err=True)
    if problems:
        raise SystemExit(1)
    click.echo(f"{len(list_profiles())} profile file(s) valid")


def init_app(app: Flask) -> None:
    app.cli.add_command(profiles_cli)
