"""(placeholder until its issue-3 part lands)."""
from flask import Flask

from .extensions import db, login_manager
from .models import User


@login_manager.user_loader
def _load_user(user_id: str) -> User | None:
    return db.session.get(User, int(user_id))


def init_app(app: Flask) -> None:
    pass
