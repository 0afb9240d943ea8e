"""The artefact an LA installs: the sdist and the wheel built from it, in a fresh venv outside the
checkout, on each Python named by ``B2B_SOAP_SMOKE_PYTHONS`` (default: the one running the tests).

It runs exactly the commands ``docs/deployment.md`` shows: build, install, ``b2b-soap demo --no-serve``,
import an invalid transfer file (Rejected with a line number: the XSDs shipped), serve, and fetch
``?wsdl``, ``/la/sign-in`` and its stylesheets (the templates and static files shipped).
"""
from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from server import free_port, wait_for

ROOT = Path(__file__).resolve().parents[1]
PYTHONS = shlex.split(os.environ.get("B2B_SOAP_SMOKE_PYTHONS", "")) or [sys.executable]
INVALID_EXAMPLE = ("schemas", "examples", "student-invalid-missing-surname.xml")


def _run(*argv, cwd: Path, timeout: float = 600, status: int = 0) -> str:
    done = subprocess.run([str(a) for a in argv], cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)
    assert done.returncode == status, f"{argv} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def _clean_copy(target: Path) -> Path:
    """The files git would clone (tracked, or new and not ignored): no build leftovers."""
    listed = _run("git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", cwd=ROOT)
    for name in filter(None, listed.split("\0")):
        if (ROOT / name).is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, target / name)
    return target


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    """``python -m build`` on a clean copy: the sdist, then the wheel built from that sdist (so both
    are complete)."""
    source = _clean_copy(tmp_path_factory.mktemp("source"))
    out = tmp_path_factory.mktemp("dist")
    _run(sys.executable, "-m", "build", "--outdir", out, source, cwd=out)
    return out


def _get(url: str) -> tuple[int, str, str]:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status, response.headers.get("Content-Type", ""), response.read().decode()


def _answers(url: str) -> bool:
    try:
        return _get(url)[0] == 200
    except OSError:
        return False


@pytest.mark.parametrize("python", PYTHONS)
def test_wheel_installs_and_serves_from_any_folder(python, dist, tmp_path):
    assert shutil.which(python), f"{python} not found"
    wheel = next(dist.glob("b2b_soap-*.whl"))
    assert next(dist.glob("b2b_soap-*.tar.gz"))
    home = tmp_path / "la"  # nowhere near the checkout
    home.mkdir()
    _run(python, "-m", "venv", home / "venv", cwd=home)
    _run(home / "venv/bin/python", "-m", "pip", "install", "--disable-pip-version-check", wheel, cwd=home)
    cli = home / "venv/bin/b2b-soap"
    _run(cli, "demo", "--data-dir", home / "demo", "--no-serve", "--persons", "50", cwd=home)
    config = home / "demo" / "b2b-soap.toml"

    example = _run(home / "venv/bin/python", "-c", "from b2b_soap.resources import package_path; "
                   f"print(package_path(*{INVALID_EXAMPLE!r}))", cwd=home).strip()
    assert str(ROOT) not in example and Path(example).is_file()
    imported = json.loads(_run(cli, "--config", config, "--json", "import", example, "--base", "9994001",
                               "--process", cwd=home, status=1))
    assert imported["status"] == "Rejected"
    assert re.search(r"line \d+", imported["errors"]), imported

    port = free_port()
    log = (home / "serve.log").open("w")
    server = subprocess.Popen([str(cli), "--config", str(config), "serve", "--port", str(port)], cwd=home,
                              stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for(lambda: _answers(url + "/health"), timeout=60, what="the installed server's /health")
        status, kind, wsdl = _get(url + "/B2BStudent.svc?wsdl")
        assert status == 200 and "xml" in kind and "IB2BStudentService" in wsdl
        status, kind, page = _get(url + "/la/sign-in")
        assert status == 200 and "text/html" in kind
        stylesheets = re.findall(r'<link rel="stylesheet" href="([^"]+)"', page)
        assert stylesheets, page
        for href in stylesheets:
            status, kind, css = _get(url + href)
            assert status == 200 and "text/css" in kind and len(css) > 100, href
    finally:
        server.terminate()
        server.wait(30)
        log.close()
