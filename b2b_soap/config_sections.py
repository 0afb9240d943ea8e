"""The settings: one frozen dataclass per section of the configuration file.

Each key carries its documentation and bounds in its field metadata (:func:`_opt`); loading
and validation read them there (:mod:`b2b_soap.config`), and so does the example file
(:mod:`b2b_soap.config_example`).
"""
from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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
    concurrent_files: int = _opt(0, "files processed at once by the workers of one serve --workers (0: one "
                                    "per CPU core the server may use; more only makes each slower)", min=0, max=256)


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


# section name -> its dataclass, in file order
SECTIONS = {name: kind for name, kind in typing.get_type_hints(Settings).items() if dataclasses.is_dataclass(kind)}
