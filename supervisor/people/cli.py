"""`flask users create | list | set-password | set-active`: managing people from the shell.

Passwords are asked for (hidden, confirmed) or generated and printed once; they are never
taken from the command line by default, where they would land in the shell history.
"""
from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import click
from flask import Flask
from flask.cli import AppGroup
from sqlalchemy import select

from supervisor.core import audit
from supervisor.core.choices import Role
from supervisor.core.extensions import db
from supervisor.inventory.models import Contractor
from supervisor.people.accounts import (
    create_user,
    find_user,
    generate_password,
    set_active,
    set_password,
)
from supervisor.people.models import User

users_cli = AppGroup("users", help="Manage the people who log in.")


def _read_password(generate: bool) -> tuple[str, bool]:
    if generate:
        return generate_password(), True
    return click.prompt("Password", hide_input=True, confirmation_prompt=True), False


def _commit(change: Callable[[], Any]) -> None:
    """Runs a validated change and commits it; a refusal rolls back and says why."""
    try:
        change()
    except ValueError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from None
    db.session.commit()


def _show_once(password: str, generated: bool) -> None:
    if generated:
        click.echo(f"password (shown once): {password}")


@users_cli.command("create")
@click.argument("username")
@click.option("--role", type=click.Choice(Role.values()), required=True)
@click.option("--contractor", "contractor_name", help="Contractor name (role contractor only).")
@click.option("--name", "display_name", help="Display name.")
@click.option("--generate-password", is_flag=True, help="Generate a password and print it once.")
def create_command(username: str, role: str, contractor_name: str | None,
                   display_name: str | None, generate_password: bool) -> None:
    """Create a user."""
    contractor = None
    if contractor_name:
        contractor = db.session.scalar(select(Contractor).where(Contractor.name == contractor_name))
        if contractor is None:
            raise click.ClickException(f"no contractor named {contractor_name!r}")
    password, generated = _read_password(generate_password)
    _commit(lambda: create_user(username, password, role, contractor=contractor,
                                display_name=display_name, actor=audit.cli_actor()))
    click.echo(f"created {role} user {username}")
    _show_once(password, generated)


@users_cli.command("list")
def list_command() -> None:
    """List users: name, role, contractor, active."""
    users = db.session.scalars(select(User).order_by(User.username)).all()
    if not users:
        click.echo("no users")
        return
    click.echo(f"{'username':<24} {'role':<11} {'contractor':<30} active")
    for u in users:
        click.echo(f"{u.username:<24} {u.role:<11} {(u.contractor.name if u.contractor else '-'):<30} "
                   f"{'yes' if u.active else 'no'}")


@users_cli.command("set-password")
@click.argument("username")
@click.option("--generate-password", is_flag=True, help="Generate a password and print it once.")
def set_password_command(username: str, generate_password: bool) -> None:
    """Set a user's password."""
    user = find_user(username)
    if user is None:
        raise click.ClickException(f"no user {username!r}")
    password, generated = _read_password(generate_password)
    _commit(lambda: set_password(user, password, actor=audit.cli_actor()))
    click.echo(f"password set for {user.username}")
    _show_once(password, generated)


@users_cli.command("set-active")
@click.argument("username")
@click.option("--active/--inactive", required=True, help="Allow or refuse this user's logins.")
def set_active_command(username: str, active: bool) -> None:
    """Allow or refuse a user's logins (users are never deleted: the audit log names them)."""
    user = find_user(username)
    if user is None:
        raise click.ClickException(f"no user {username!r}")
    if set_active(user, active, actor=audit.cli_actor()):
        db.session.commit()
    click.echo(f"{user.username}: {'active' if active else 'inactive'}")


def init_app(app: Flask) -> None:
    app.cli.add_command(users_cli)


if __name__ == "__main__":  # pragma: no cover
    sys.exit("run through flask: flask users --help")
