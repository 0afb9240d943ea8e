"""``b2b-soap config example``: a commented configuration file with every key at its default."""
from __future__ import annotations

import dataclasses
from typing import Any

from .config_sections import SECTIONS, JobSettings

__all__ = ["example_config"]


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
    for name, cls in SECTIONS.items():
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

