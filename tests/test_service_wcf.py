"""A real WCF client: the proxy Mono's svcutil generates from the served WSDL, compiled with
Mono's System.ServiceModel and run against the server over BasicHttpBinding with HTTP Basic.
It calls all nine school operations."""
from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
from pathlib import Path

from b2b_soap.db import session_scope
from b2b_soap.downloads import queue_download
from conftest import require_or_skip
from server import running_server
from service_setup import PASSWORD, TNS, ServiceEnv, student_file

DRIVER = Path(__file__).parent / "wcf" / "B2BGeneratedClient.cs"
DOWNLOAD = b"<forSchool>timetable</forSchool>"


def _generate_proxy(wsdl_url: str, directory: Path) -> None:
    """svcutil's Generated.cs, with what Mono's svcutil gets wrong where .NET's does not: it swaps
    each operation's Action (the SOAP action) and ReplyAction (``*``), and it leaves out the
    wsdl:fault, so the typed B2BFault (declared in the driver) is added to every operation."""
    _run(["svcutil", "-o:Generated.cs", wsdl_url], directory)
    path = directory / "Generated.cs"
    text = re.sub(r'Action="\*", ReplyAction=("[^"]*"(?:\s*\+\s*"[^"]*")*)', r'Action=\1, ReplyAction="*"',
                  path.read_text())
    fault = (f'[System.ServiceModel.FaultContractAttribute(typeof(B2BSoap.Tests.B2BFault), Name="B2BFault", '
             f'Namespace="{TNS}")]\n    ')
    path.write_text(text.replace("[System.ServiceModel.OperationContractAttribute(",
                                 fault + "[System.ServiceModel.OperationContractAttribute("))


def _run(command: list[str], cwd: Path) -> str:
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, f"{command[0]} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def test_generated_wcf_client_calls_every_school_operation(tmp_path: Path, database_url: str) -> None:
    require_or_skip(all(shutil.which(tool) for tool in ("mcs", "mono", "svcutil")), "Mono (mcs, svcutil)")
    env = ServiceEnv.create(tmp_path / "env", database_url)
    env.add_school("9994000", "sims")
    with session_scope(env.ctx.sessions) as session:
        queue_download(session, env.ctx.keyring, "la-admin", ["9994000"], "timetable.xml", DOWNLOAD)
    upload = tmp_path / "pupils.xml"
    upload.write_bytes(student_file(pupils=50))
    exe = tmp_path / "B2BGeneratedClient.exe"
    with running_server(env.config_path) as srv:
        _generate_proxy(srv.student_url + "?wsdl", tmp_path)
        _run(["mcs", "-nologo", "-r:System.ServiceModel", "-r:System.Runtime.Serialization", f"-out:{exe}",
              "Generated.cs", str(DRIVER)], tmp_path)
        output = _run(["mono", str(exe), srv.student_url, "sims", PASSWORD, str(upload)], tmp_path)
    env.close()
    lines = dict(line.split("=", 1) for line in output.splitlines() if "=" in line)
    assert lines["LaNumber"] == "999" and lines["LaName"] == "Test LA"
    assert lines["DataTypes"] == "Student,Attainment" and lines["MaxPartBytes"] == str(4 * 1024 * 1024)
    assert lines["ServerTimeKind"] == "Utc"
    assert (lines["SavedOwner"], lines["SavedVersion"]) == ("School", "1")
    assert lines["Tasks"] == f"{lines['SavedTaskId']}:WCF census" and lines["TasksAfterDelete"] == "0"
    assert (lines["Status"], lines["IsDuplicate"], lines["PartsReceived"]) == ("Received", "False", "1")
    assert (lines["StatusFileName"], lines["StatusStatus"], lines["StatusErrors"]) == ("pupils.xml", "Received", "0")
    assert lines["Pending"] == "timetable.xml" and lines["DownloadName"] == "timetable.xml"
    assert lines["DownloadSha256"] == hashlib.sha256(DOWNLOAD).hexdigest()
    assert lines["PendingAfterAcknowledge"] == "0"
    assert lines["FaultCode"] == "NotFound"  # the B2BFault detail reaches .NET
