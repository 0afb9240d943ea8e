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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from .errors import B2BError

__all__ = ["Settings", "ConfigError", "load_settings", "example_config", "settings_from_dict"]

ENV_PREFIX = "B2B_SOAP_"


class ConfigError(B2BError):
    """A configuration file or override is invalid; ``problems`` names each key."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("invalid configuration: " + "; ".join(problems))


def _opt(default: Any, doc: str, *, min: float | None = None, max: float | None = None,
         choices: tuple[str, ...] | None = None) -> Any:
    meta = {"doc": doc, "min": min, "max": max, "choices": choices}
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda: type(default)(default), metadata=meta)
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class ServerSettings:
    host: str = _opt("127.0.0.1", "address the WSGI server listens on")
    port: int = _opt(8080, "TCP port", min=1, max=65535)
    tls_cert: str = _opt("", "PEM certificate file; with tls_key, cheroot serves HTTPS")
    tls_key: str = _opt("", "PEM private key file")
    threads: int = _opt(32, "worker threads per process (a slow client holds one for up to head_seconds)",
                        min=1, max=256)
    max_request_bytes: int = _opt(8 * 1024 * 1024, "largest HTTP request body accepted",
                                  min=64 * 1024, max=512 * 1024 * 1024)
    max_body_bytes_in_flight: int = _opt(64 * 1024 * 1024, "request bodies held at once by one process; "
                                         "beyond it callers get ServerBusy", min=64 * 1024,
                                         max=8 * 1024 * 1024 * 1024)
    head_seconds: float = _opt(10.0, "time a client has to send the start of a request body (up to the "
                                     "end of the SOAP header) before it is cut off", min=0.5, max=600)
    min_bytes_per_second: int = _opt(32 * 1024, "slowest upload accepted for the rest of a body "
                                                "(after a grace of head_seconds)", min=1, max=1024 * 1024 * 1024)
    max_concurrent_uploads: int = _opt(4, "uploads processed at once", min=1, max=256)
    upload_wait_seconds: float = _opt(3.0, "how long an upload waits for a free slot before ServerBusy",
                                      min=0, max=600)
    access_log: bool = _opt(True, "write an access log line per request")
    public_url: str = _opt("", "address schools use, shown in the WSDL (empty: taken from the request)")
    allowed_hosts: list = _opt([], "without public_url: the Host names a WSDL may be asked for "
                                   "(empty: host, localhost and 127.0.0.1); others get 400")


@dataclass(frozen=True)
class DatabaseSettings:
    url: str = _opt("", "SQLAlchemy URL; empty means a SQLite file b2b-soap.db in the data directory")
    pool_size: int = _opt(5, "connections kept per process (PostgreSQL)", min=1, max=100)


@dataclass(frozen=True)
class LaSettings:
    number: str = _opt("999", "3-digit LA number")
    name: str = _opt("Demo LA", "LA name shown to schools")


@dataclass(frozen=True)
class DefaultsSettings:
    b2b_s_age: int = _opt(18, "B2B_S_AGE: unmatched pupils older than this are not listed", min=0, max=120)
    carer_min: int = _opt(16, "CARER_MIN: youngest age considered as a carer", min=0, max=120)
    b2bhcache: bool = _opt(True, "B2BHCACHE: an already imported value raises no second conflict")
    guidmatch: bool = _opt(True, "GUIDMATCH: a known base + SIMS GUID links first")
    file_retention_days: int = _opt(90, "FILE_RETENTION_DAYS: processed files older than this are deleted",
                                    min=1, max=3650)


@dataclass(frozen=True)
class StorageSettings:
    key_file: str = _opt("", "AES key file for contents at rest; empty: storage.key in the data directory")
    max_file_bytes: int = _opt(20 * 1024 * 1024, "largest student file (decompressed)",
                               min=1024, max=1024 * 1024 * 1024)
    max_part_bytes: int = _opt(4 * 1024 * 1024, "largest part in one UploadFile call",
                               min=1024, max=7 * 1024 * 1024)
    max_attainment_file_bytes: int = _opt(2_097_152, "largest attainment file (decompressed)",
                                          min=1024, max=64 * 1024 * 1024)
    import_dir: str = _opt("", "attainment import directory (0700, or 2770 with [attainment] group); "
                               "empty: import/ in the data directory")
    suspense_dir: str = _opt("", "attainment suspense directory (0700, or 2770 with [attainment] group); "
                                 "empty: suspense/ in the data directory")


@dataclass(frozen=True)
class AttainmentSettings:
    group: str = _opt("", "group that may also read and write the import and suspense directories (e.g. "
                          "the account Pulse runs as is in it): directories 2770, files 0660; empty: "
                          "only the server's user (0700, files 0600)")


@dataclass(frozen=True)
class LicenceSettings:
    public_key: str = _opt("", "vendor's Ed25519 public key (base64) that licence keys are checked against")


@dataclass(frozen=True)
class SecuritySettings:
    lockout_threshold: int = _opt(5, "failed sign-ins in the window that lock an account", min=1, max=1000)
    lockout_window_seconds: int = _opt(900, "window for counting failures", min=1, max=86400 * 30)
    lockout_seconds: int = _opt(1800, "how long a lockout lasts (0: until unlocked)", min=0, max=86400 * 365)
    min_password_length: int = _opt(12, "shortest password accepted", min=8, max=256)


@dataclass(frozen=True)
class ProcessingSettings:
    enabled: bool = _opt(True, "run the processing worker inside serve")
    poll_seconds: float = _opt(2.0, "how often an idle worker looks for files", min=0.05, max=3600)
    max_attempts: int = _opt(3, "attempts before a file is marked Failed", min=1, max=100)
    lease_seconds: int = _opt(600, "how long a worker's claim on a file lasts; a killed worker's file is "
                                   "taken up again after this", min=30, max=86400)


@dataclass(frozen=True)
class JobSettings:
    name: str = _opt("", "job name, unique")
    action: str = _opt("", "what it does", choices=("clear_conflicts", "delete_files", "clear_cache",
                                                     "attainment_import", "retention",
                                                     "data_retention"))
    trigger: str = _opt("cron", "cron or interval", choices=("cron", "interval"))
    cron: str = _opt("", "crontab expression (5 fields) for a cron trigger")
    seconds: int = _opt(0, "interval in seconds for an interval trigger", min=0, max=86400 * 366)
    args: dict = _opt({}, "arguments passed to the action")


@dataclass(frozen=True)
class MaintenanceSettings:
    enabled: bool = _opt(True, "run the scheduler inside serve")
    reload_seconds: float = _opt(10.0, "how often each worker reads the job table again to pick up "
                                       "jobs added, changed, paused or removed", min=0.1, max=3600)
    jobs: list = _opt([], "[[maintenance.jobs]] tables, added to the job table at init and serve")


@dataclass(frozen=True)
class AlertsSettings:
    smtp_host: str = _opt("", "SMTP server; empty: alerts are only written to the alert log")
    smtp_port: int = _opt(25, "SMTP port", min=1, max=65535)
    starttls: bool = _opt(False, "use STARTTLS")
    username: str = _opt("", "SMTP user")
    password: str = _opt("", "SMTP password")
    sender: str = _opt("b2b-soap@localhost", "From address")
    recipients: dict = _opt({}, "trigger name -> list of addresses ('*' for every trigger)")
    retry_seconds: int = _opt(60, "first retry delay after a failed delivery (doubles)", min=1, max=86400)


@dataclass(frozen=True)
class WebSettings:
    trusted_proxies: list = _opt([], "addresses or networks of reverse proxies whose X-Forwarded-For/-Proto/"
                                     "-Host/-Port are believed (empty: none; the headers are ignored)")


@dataclass(frozen=True)
class Settings:
    data_dir: str = _opt("data", "directory for the SQLite database, keys and attainment files")
    server: ServerSettings = field(default_factory=ServerSettings)
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    la: LaSettings = field(default_factory=LaSettings)
    defaults: DefaultsSettings = field(default_factory=DefaultsSettings)
    storage: StorageSettings = field(default_factory=StorageSettings)
    attainment: AttainmentSettings = field(default_factory=AttainmentSettings)
    licence: LicenceSettings = field(default_factory=LicenceSettings)
    security: SecuritySettings = field(default_factory=SecuritySettings)
    processing: ProcessingSettings = field(default_factory=ProcessingSettings)
    maintenance: MaintenanceSettings = field(default_factory=MaintenanceSettings)
    alerts: AlertsSettings = field(default_factory=AlertsSettings)
    web: WebSettings = field(default_factory=WebSettings)
    source: str = field(default="", compare=False, metadata={"internal": True})

    @property
    def data_path(self) -> Path:
        return Path(self.data_dir).expanduser()

    @property
    def database_url(self) -> str:
        return self.database.url or f"sqlite:///{(self.data_path / 'b2b-soap.db').resolve()}"

    @property
    def key_path(self) -> Path:
        return Path(self.storage.key_file) if self.storage.key_file else self.data_path / "storage.key"

    @property
    def import_path(self) -> Path:
        return Path(self.storage.import_dir) if self.storage.import_dir else self.data_path / "import"

    @property
    def suspense_path(self) -> Path:
        return Path(self.storage.suspense_dir) if self.storage.suspense_dir else self.data_path / "suspense"

    @property
    def jobs(self) -> list[JobSettings]:
        return list(self.maintenance.jobs)


_SECTIONS = {name: kind for name, kind in typing.get_type_hints(Settings).items() if dataclasses.is_dataclass(kind)}


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
    for section, kind in _SECTIONS.items():
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


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return str(value)


def _example_section(name: str, cls: type) -> list[str]:
    lines = [f"[{name}]"]
    instance = cls()
    for f in dataclasses.fields(cls):
        if f.name == "jobs":
            continue
        lines.append(f"# {f.metadata['doc']}")
        lines.append(f"{f.name} = {_toml_value(getattr(instance, f.name))}")
    return lines


_EXAMPLE_JOBS = [
    {"name": "history-retention", "action": "retention", "trigger": "cron", "cron": "0 4 * * 0",
     "args": {"days": 365}},
]


def example_config() -> str:
    """A commented configuration file with every key at its default."""
    lines = ["# b2b-soap configuration. Every key is optional; shown at its default.",
             "# Environment variables override single keys: B2B_SOAP_<SECTION>_<KEY>, e.g. B2B_SOAP_SERVER_PORT.",
             "", "# directory for the SQLite database, keys and attainment files (relative to this file)",
             'data_dir = "data"', ""]
    for name, cls in _SECTIONS.items():
        lines += _example_section(name, cls) + [""]
    lines.append("# `init` seeds the default maintenance jobs into the database; change them there with "
                 "`b2b-soap jobs`.")
    lines.append("# Jobs added here are stored at init or serve when no job has that name. action: " + ", ".join(
        JobSettings.__dataclass_fields__["action"].metadata["choices"]))
    for job in _EXAMPLE_JOBS:
        lines.append("[[maintenance.jobs]]")
        lines += [f"{k} = {_toml_value(v)}" for k, v in job.items()]
        lines.append("")
    return "\n".join(lines)

