"""Security headers for every answer, set in one place.

- Content-Security-Policy: scripts and everything else from this site only (no inline
  script: page scripts live in static/js/), no plugins, no framing, forms post here only.
  Inline style attributes stay allowed (plotly draws with them).
- X-Frame-Options DENY (older browsers), X-Content-Type-Options nosniff, Referrer-Policy.
- Cache-Control no-store on every answer that did not choose its own (pages, exports and
  API answers carry device data; static files and plotly.js set their own caching).
- Strict-Transport-Security when the platform is served over TLS (setting TLS); the cookie
  flags (Secure with TLS, HttpOnly, SameSite) are set from the same setting in
  core/settings.py.
"""
from __future__ import annotations

from flask import Flask, Response

CSP = "; ".join((
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
))


def init_app(app: Flask) -> None:
    tls = bool(app.config.get("TLS"))

    @app.after_request
    def _security_headers(response: Response) -> Response:
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CSP)
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "same-origin")
        if "Cache-Control" not in headers:
            headers["Cache-Control"] = "no-store"
        if tls:
            headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        return response
