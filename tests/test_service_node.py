"""Node's ``soap`` package as a client (UsernameToken): the third client beside zeep and WCF.

Node's HTTP parser refuses a response with two Content-Length headers, so this is also the
check that real Node integrators can read every answer. Needs ``npm ci --prefix tests/node``.
"""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from conftest import require_or_skip
from server import running_server
from service_setup import PASSWORD, ServiceEnv, student_file

NODE_PROJECT = Path(__file__).parent / "node"


def test_node_soap_client_over_username_token(tmp_path: Path, database_url: str) -> None:
    require_or_skip(shutil.which("node") is not None and (NODE_PROJECT / "node_modules" / "soap").is_dir(),
                    "node and the soap package (npm ci --prefix tests/node)")
    env = ServiceEnv.create(tmp_path / "env", database_url)
    env.add_school("9994000", "sims")
    upload = tmp_path / "pupils.xml"
    upload.write_bytes(student_file(pupils=40))
    with running_server(env.config_path) as srv:
        result = subprocess.run(["node", str(NODE_PROJECT / "client.js"), srv.student_url + "?wsdl", "sims", PASSWORD,
                                 str(upload)], capture_output=True, text=True, timeout=120, cwd=NODE_PROJECT)
        assert result.returncode == 0, result.stdout + result.stderr + srv.log()[-2000:]
    answers = json.loads(result.stdout)
    info, receipt, status = answers["info"], answers["receipt"], answers["status"]
    assert (info["LaNumber"], info["LaName"]) == ("999", "Test LA")
    assert int(info["MaxPartBytes"]) == 4 * 1024 * 1024
    assert (receipt["Status"], receipt["IsDuplicate"], int(receipt["PartsReceived"])) == ("Received", False, 1)
    assert (status["FileId"], status["FileName"], status["Status"]) == (receipt["FileId"], "pupils.xml", "Received")
    assert answers["wrongPassword"]["code"] == "AuthenticationFailed"
    assert answers["wrongPassword"]["message"] == answers["wrongPassword"]["faultstring"]
    assert answers["duplicate"]["code"] == "DuplicateFile"
    env.close()
