"""Write the WSDL snapshots in ``wsdl/``: ``python -m b2b_soap.service.snapshot``.

A contract change is deliberate: regenerate, review the diff, commit. The drift test
compares what the server serves with these files and never writes them.
"""
from __future__ import annotations

import sys

from ..resources import package_path
from .wsgi import make_endpoints

__all__ = ["SNAPSHOT_DIR", "SNAPSHOT_URL", "snapshots", "main"]

SNAPSHOT_DIR = package_path("wsdl")
SNAPSHOT_URL = "http://localhost"  # the soap:address in the files; served WSDLs carry the real one
FILE_NAMES = {"/B2BStudent.svc": "B2BStudent.wsdl", "/B2BAdmin.svc": "B2BAdmin.wsdl"}


def snapshots() -> dict[str, bytes]:
    """File name -> WSDL bytes, as served at ``SNAPSHOT_URL``."""
    return {FILE_NAMES[e.path]: e.wsdl(SNAPSHOT_URL + e.path) for e in make_endpoints()}


def main() -> int:
    SNAPSHOT_DIR.mkdir(exist_ok=True)
    for name, document in snapshots().items():
        (SNAPSHOT_DIR / name).write_bytes(document)
        print(f"wrote {SNAPSHOT_DIR / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
