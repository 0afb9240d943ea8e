"""Configuration: one TOML file becomes frozen, validated settings.

The file path comes from ``--config`` or ``B2B_SOAP_CONFIG``. Environment variables named
``B2B_SOAP_<SECTION>_<KEY>`` override single values. Every problem in a file is collected
and reported at once, each naming its key, so an administrator fixes them in one pass.
"""
from __future__ import annotations

import dataclasses
import importlib.util
import ipaddress
import os
import tomllib
import typing
from pathlib import Path
from typing import Any, Mapping

from .config_example import example_config
from .config_sections import (SECTIONS, AttainmentSettings, JobSettings, MaintenanceSettings, SecuritySettings,
                              ServerSettings, Settings)
from .errors import B2BError

__all__ = ["Settings", "ConfigError", "load_settings", "example_config", "settings_from_dict", "ServerSettings",
           "SecuritySettings", "AttainmentSettings", "JobSettings"]

ENV_PREFIX = "B2B_SOAP_"


class ConfigError(B2BError):
    """A configuration file or override is invalid; ``problems`` names each key."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("invalid configuration: " + "; ".join(problems))


def _convert(value: Any, kind: Any, key: str, meta: Mapping[str, Any], problems: list[str]) -> Any:
    def bad(expected: str) -> None:
        problems.append(f"{key}: expected {expected}, got {value!r}")

    if kind is bool:
        if isinstance(value, str) and value.lower() in ("true", "t", "1", "yes", "false", "f", "0", "no"):
            return value.lower() in ("true", "t", "1", "yes")
        if not isinstance(value, bool):
            return bad("true or false")
        return value
    if kind in (int, float):
        if isinstance(value, str):
            try:
                value = kind(value)
            except ValueError:
                return bad("a number" if kind is float else "a whole number")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or (kind is int and isinstance(value, float)):
            return bad("a number" if kind is float else "a whole number")
        value = kind(value)
        low, high = meta.get("min"), meta.get("max")
        if (low is not None and value < low) or (high is not None and value > high):
            problems.append(f"{key}: {value} is out of range ({low}..{high})")
            return None
        return value
    if kind is str:
        if not isinstance(value, str):
            return bad("a string")
        choices = meta.get("choices")
        if choices and value not in choices:
            problems.append(f"{key}: {value!r} is not one of {', '.join(choices)}")
            return None
        return value
    if kind is dict:
        return value if isinstance(value, dict) else bad("a table")
    if kind is list:
        return value if isinstance(value, list) else bad("a list")
    raise TypeError(kind)  # pragma: no cover - only the kinds above are declared


def _build(cls: type, data: Mapping[str, Any], prefix: str, problems: list[str]) -> Any:
    hints = typing.get_type_hints(cls)
    known = {f.name: f for f in dataclasses.fields(cls) if not f.metadata.get("internal")}
    for unknown in sorted(set(data) - set(known)):
        problems.append(f"{prefix}{unknown}: unknown key")
    values: dict[str, Any] = {}
    for name, f in known.items():
        if name not in data:
            continue
        kind = hints[name]
        key = f"{prefix}{name}"
        if dataclasses.is_dataclass(kind):
            if isinstance(data[name], dict):
                values[name] = _build(kind, data[name], key + ".", problems)
            else:
                problems.append(f"{key}: expected a table")
        else:
            converted = _convert(data[name], kind, key, f.metadata, problems)
            if converted is not None:
                values[name] = converted
    if cls is MaintenanceSettings and "jobs" in values:
        values["jobs"] = _build_jobs(values["jobs"], prefix + "jobs", problems)
    return cls(**values)


def _build_jobs(raw: list[Any], prefix: str, problems: list[str]) -> list[JobSettings]:
    jobs, names = [], set()
    for i, item in enumerate(raw):
        key = f"{prefix}[{i}]"
        if not isinstance(item, dict):
            problems.append(f"{key}: expected a table")
            continue
        job = _build(JobSettings, item, key + ".", problems)
        if not job.name or not job.action:
            problems.append(f"{key}: name and action are required")
        elif job.name in names:
            problems.append(f"{key}.name: {job.name!r} is used twice")
        elif job.trigger == "cron" and len(job.cron.split()) != 5:
            problems.append(f"{key}.cron: expected 5 crontab fields, got {job.cron!r}")
        elif job.trigger == "interval" and job.seconds <= 0:
            problems.append(f"{key}.seconds: an interval trigger needs seconds > 0")
        names.add(job.name)
        jobs.append(job)
    return jobs


def _env_overrides(environ: Mapping[str, str]) -> dict[str, dict[str, str]]:
    overrides: dict[str, dict[str, str]] = {}
    for section, kind in SECTIONS.items():
        for f in dataclasses.fields(kind):
            if f.name == "jobs":
                continue
            name = f"{ENV_PREFIX}{section}_{f.name}".upper()
            if name in environ:
                overrides.setdefault(section, {})[f.name] = environ[name]
    return overrides


# backend -> the driver module b2b-soap connects with (db.engine.normalise_url picks psycopg)
DATABASE_DRIVERS = {"sqlite": "sqlite3", "postgresql": "psycopg"}


def _check_database_url(url: str, problems: list[str]) -> None:
    from sqlalchemy import make_url
    from sqlalchemy.exc import ArgumentError
    try:
        backend = make_url(url).get_backend_name()
    except ArgumentError:
        problems.append("database.url: not a database URL; expected sqlite:///PATH or postgresql://USER@HOST/NAME")
        return
    driver = DATABASE_DRIVERS.get(backend)
    if driver is None:
        problems.append(f"database.url: {backend} is not supported; use SQLite (sqlite:///PATH) or "
                        "PostgreSQL (postgresql://USER@HOST/NAME)")
    elif importlib.util.find_spec(driver) is None:
        problems.append(f"database.url: the {backend} driver ({driver}) is not installed")


def _check_cross_fields(settings: Settings, problems: list[str]) -> None:
    if settings.database.url:
        _check_database_url(settings.database.url, problems)
    la = settings.la.number
    if not (len(la) == 3 and la.isdigit()):
        problems.append(f"la.number: expected 3 digits, got {la!r}")
    if bool(settings.server.tls_cert) != bool(settings.server.tls_key):
        problems.append("server.tls_cert: tls_cert and tls_key must be given together")
    if settings.storage.max_part_bytes * 4 // 3 + 64 * 1024 > settings.server.max_request_bytes:
        problems.append("server.max_request_bytes: too small for one base64 part of storage.max_part_bytes")
    if settings.server.max_body_bytes_in_flight < settings.server.max_request_bytes:
        problems.append("server.max_body_bytes_in_flight: must be at least server.max_request_bytes")
    for proxy in settings.web.trusted_proxies:
        try:
            ipaddress.ip_network(proxy, strict=False)
        except (TypeError, ValueError):
            problems.append(f"web.trusted_proxies: {proxy!r} is not an IP address or network")
    if settings.alerts.recipients:
        for trigger, addresses in settings.alerts.recipients.items():
            if not isinstance(addresses, list) or not all(isinstance(a, str) for a in addresses):
                problems.append(f"alerts.recipients.{trigger}: expected a list of addresses")


def settings_from_dict(data: Mapping[str, Any], environ: Mapping[str, str] | None = None,
                       source: str = "") -> Settings:
    """Build settings from parsed TOML plus environment overrides; raise ConfigError listing every problem."""
    merged: dict[str, Any] = {k: (dict(v) if isinstance(v, dict) else v) for k, v in data.items()}
    env = os.environ if environ is None else environ
    for section, values in _env_overrides(env).items():
        target = merged.setdefault(section, {})
        if isinstance(target, dict):
            target.update(values)
    if f"{ENV_PREFIX}DATA_DIR" in env:
        merged["data_dir"] = env[f"{ENV_PREFIX}DATA_DIR"]
    problems: list[str] = []
    settings = _build(Settings, merged, "", problems)
    _check_cross_fields(settings, problems)
    if problems:
        raise ConfigError(problems)
    return dataclasses.replace(settings, source=source)


def config_path(explicit: str | os.PathLike[str] | None = None) -> Path | None:
    """The config file to read: ``--config``, else ``B2B_SOAP_CONFIG``, else ./b2b-soap.toml if present."""
    if explicit:
        return Path(explicit)
    if os.environ.get("B2B_SOAP_CONFIG"):
        return Path(os.environ["B2B_SOAP_CONFIG"])
    default = Path("b2b-soap.toml")
    return default if default.exists() else None


def load_settings(path: str | os.PathLike[str] | None = None,
                  environ: Mapping[str, str] | None = None) -> Settings:
    """Load settings from a TOML file (or defaults when there is none)."""
    resolved = config_path(path)
    if resolved is None:
        return settings_from_dict({}, environ)
    try:
        with open(resolved, "rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError([f"{resolved}: file not found"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"{resolved}: not valid TOML ({exc})"]) from None
    settings = settings_from_dict(data, environ, source=str(resolved))
    if not Path(settings.data_dir).is_absolute():
        settings = dataclasses.replace(settings, data_dir=str((resolved.parent / settings.data_dir).resolve()))
    return settings
