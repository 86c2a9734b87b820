"""(placeholder until its issue-3 part lands)."""
from flask import Flask


def init_app(app: Flask) -> None:
    pass
