"""Reverse proxies the administrator trusts: only their X-Forwarded-* headers are believed.

Behind a TLS-terminating proxy the app sees plain HTTP from the proxy's address; the proxy
says in ``X-Forwarded-Proto`` / ``-For`` / ``-Host`` / ``-Port`` what the client really used.
Anyone can send those headers, so they count only on a connection from an address listed
in ``[web] trusted_proxies``; from anywhere else the request is taken as it arrived.
"""
from __future__ import annotations

import ipaddress
from typing import Callable, Iterable

from werkzeug.middleware.proxy_fix import ProxyFix

__all__ = ["TrustedProxies"]

_FORWARDED = ("HTTP_X_FORWARDED_FOR", "HTTP_X_FORWARDED_PROTO", "HTTP_X_FORWARDED_HOST",
              "HTTP_X_FORWARDED_PORT", "HTTP_X_FORWARDED_PREFIX")


class TrustedProxies:
    """WSGI middleware: ProxyFix (one proxy hop) for connections from a trusted address only."""

    def __init__(self, app: Callable, proxies: Iterable[str]) -> None:
        self.app = app
        self.networks = [ipaddress.ip_network(p, strict=False) for p in proxies]
        self.fixed = ProxyFix(app, x_for=1, x_proto=1, x_host=1, x_port=1)

    def _trusted(self, address: str) -> bool:
        try:
            peer = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(peer in network for network in self.networks)

    def __call__(self, environ: dict, start_response: Callable):
        if self.networks and self._trusted(environ.get("REMOTE_ADDR", "")):
            return self.fixed(environ, start_response)
        for name in _FORWARDED:  # so no part of the app can read them by mistake
            environ.pop(name, None)
        return self.app(environ, start_response)

