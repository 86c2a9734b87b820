"""Web blueprints (placeholder until the pages land)."""
from flask import Flask


def init_app(app: Flask) -> None:
    pass
