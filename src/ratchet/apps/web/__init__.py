"""The web app: dashboard, JSON API, live events, Prometheus metrics, health."""

from ratchet.apps.web.app import create_app

__all__ = ["create_app"]
