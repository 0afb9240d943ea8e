"""The address the services advertise in the WSDL: the configured public URL, or a checked Host.

Without ``server.public_url`` the address is taken from the request, so the Host header
must name this server (``server.allowed_hosts``, by default the listen address, localhost
and 127.0.0.1); anything else is refused instead of echoed into a WSDL.
"""
from __future__ import annotations

from ..config import ServerSettings

__all__ = ["ServiceAddress", "HostNotAllowed", "allowed_hosts"]


class HostNotAllowed(Exception):
    """The request's Host header names no address of this server."""


def allowed_hosts(server: ServerSettings) -> frozenset[str]:
    names = server.allowed_hosts or [server.host, "localhost", "127.0.0.1", "::1"]
    return frozenset(name.strip().lower().strip("[]") for name in names)


def _host_name(host: str) -> str:
    """``host`` from ``host``, ``host:port``, ``[v6]`` or ``[v6]:port``."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1:host.find("]")] if "]" in host else host
    return host.rpartition(":")[0] if host.count(":") == 1 else host


class ServiceAddress:
    """Base URL (scheme, host, port) of this server as a client should use it."""

    def __init__(self, server: ServerSettings) -> None:
        self.public_url = server.public_url.rstrip("/")
        self.hosts = allowed_hosts(server)

    def base_url(self, environ: dict) -> str:
        """The configured public URL, else the request's scheme and Host when Host is allowed.

        Raises:
            HostNotAllowed: no public URL is configured and Host is not an allowed host.
        """
        if self.public_url:
            return self.public_url
        host = environ.get("HTTP_HOST") or environ.get("SERVER_NAME", "localhost")
        if _host_name(host) not in self.hosts:
            raise HostNotAllowed(host)
        return f"{environ.get('wsgi.url_scheme', 'http')}://{host}"
