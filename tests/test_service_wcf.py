"""A real WCF client (Mono's System.ServiceModel, ChannelFactory + BasicHttpBinding, HTTP Basic)."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from conftest import require_or_skip
from server import running_server
from service_setup import PASSWORD, ServiceEnv, student_file

SOURCE = Path(__file__).parent / "wcf" / "B2BClient.cs"


def test_wcf_client_over_basic_auth(tmp_path: Path, database_url: str) -> None:
    require_or_skip(shutil.which("mcs") is not None and shutil.which("mono") is not None, "Mono (mcs)")
    exe = tmp_path / "B2BClient.exe"
    subprocess.run(["mcs", "-nologo", "-r:System.ServiceModel", "-r:System.Runtime.Serialization",
                    f"-out:{exe}", str(SOURCE)], check=True, capture_output=True, timeout=120)
    env = ServiceEnv.create(tmp_path / "env", database_url)
    env.add_school("9994000", "sims")
    upload = tmp_path / "pupils.xml"
    upload.write_bytes(student_file(pupils=50))
    with running_server(env.config_path) as srv:
        result = subprocess.run(["mono", str(exe), srv.student_url, "sims", PASSWORD, str(upload)],
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stdout + result.stderr + srv.log()[-2000:]
    lines = dict(line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)
    assert lines["LaNumber"] == "999" and lines["LaName"] == "Test LA"
    assert lines["DataTypes"] == "Student,Attainment" and lines["MaxPartBytes"] == str(4 * 1024 * 1024)
    assert lines["ServerTimeKind"] == "Utc"
    assert (lines["Status"], lines["IsDuplicate"], lines["PartsReceived"]) == ("Received", "False", "1")
    assert (lines["StatusFileName"], lines["StatusStatus"], lines["StatusErrors"]) == ("pupils.xml", "Received", "0")
    assert lines["FaultCode"] == "NotFound"  # the typed fault detail reaches .NET
    env.close()
