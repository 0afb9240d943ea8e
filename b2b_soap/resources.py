"""Files the package reads at run time (migrations, XSDs, WSDL snapshots, examples), found inside
the installed package so a wheel works from any folder."""
from __future__ import annotations

from importlib.resources import files
from pathlib import Path

__all__ = ["package_path"]


def package_path(*parts: str) -> Path:
    """The path of ``parts`` under the installed ``b2b_soap`` package (always a directory install)."""
    return Path(str(files("b2b_soap").joinpath(*parts)))
