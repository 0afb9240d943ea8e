"""The WSDL contract: committed snapshots, WCF naming conventions, element order, anonymous ?wsdl."""
from __future__ import annotations

import urllib.request
from pathlib import Path

import pytest
from lxml import etree

from b2b_soap.service import snapshot
from b2b_soap.service.snapshot import FILE_NAMES, SNAPSHOT_DIR, SNAPSHOT_URL
from server import running_server
from service_setup import ServiceEnv

TNS = "http://schemas.b2b-soap.org/student/2026/01"
NS = {"wsdl": "http://schemas.xmlsoap.org/wsdl/", "soap": "http://schemas.xmlsoap.org/wsdl/soap/",
      "xs": "http://www.w3.org/2001/XMLSchema"}
STUDENT_OPERATIONS = ["GetServerInfo", "GetScheduledTasks", "SaveScheduledTask", "DeleteScheduledTask", "UploadFile",
                      "GetFileStatus", "GetPendingDownloads", "DownloadFile", "AcknowledgeDownload"]
# DESIGN "The SOAP contract": elements in this order (the WSDL order is the wire order).
TYPE_ORDER = {
    "ServerInfo": "ProductVersion ContractVersion LaNumber LaName MaxFileBytes MaxPartBytes MaxAttainmentFileBytes "
                  "DataTypes ServerTimeUtc",
    "FileHeader": "FileGuid TaskId DataType FileName TotalBytes Sha256 Compression PartNumber PartCount CreatedUtc",
    "FileReceipt": "FileId Status IsDuplicate PartsReceived ReceivedUtc",
    "FileStatus": "FileId FileName DataType Status ReceivedUtc ProcessedUtc Errors PupilCount MatchedCount "
                  "UnmatchedCount ConflictCount",
    "FileError": "Line Column Message",
    "ScheduledTask": "TaskId Name DataType Direction Enabled Owner Frequency StartDate TimeOfDay DaysOfWeek "
                     "DayOfMonth NcYears IncludeLeavers AspectHierarchyId Version ModifiedUtc",
    "DownloadInfo": "FileId FileName DataType TotalBytes Sha256 QueuedUtc",
    "DownloadedFile": "Info Content",
    "B2BFault": "Code Message",
}
NOT_INTEGER = {"MaxFileBytes", "MaxPartBytes", "MaxAttainmentFileBytes", "TaskId", "TotalBytes", "PartNumber",
               "PartCount", "PupilCount", "Line", "Column", "DayOfMonth", "Version", "AspectHierarchyId"}


def _snapshot(name: str) -> etree._Element:
    return etree.parse(str(SNAPSHOT_DIR / name)).getroot()


def _without_address(document: bytes) -> bytes:
    root = etree.fromstring(document)
    for address in root.iterfind(".//wsdl:port/soap:address", NS):
        address.set("location", "")
    return etree.tostring(root)


def test_served_wsdl_matches_the_committed_snapshots(tmp_path: Path, database_url: str) -> None:
    env = ServiceEnv.create(tmp_path, database_url)
    with running_server(env.config_path) as srv:
        for path, name in FILE_NAMES.items():
            for query in ("wsdl", "singleWsdl"):
                with urllib.request.urlopen(f"{srv.url}{path}?{query}", timeout=10) as response:  # anonymous
                    served = response.read()
                committed = (SNAPSHOT_DIR / name).read_bytes()
                assert _without_address(served) == _without_address(committed), (
                    f"{path}?{query} differs from b2b_soap/wsdl/{name}: if the change is deliberate, run "
                    "`python -m b2b_soap.service.snapshot` and commit the file")
                location = etree.fromstring(served).find(".//wsdl:port/soap:address", NS).get("location")
                assert location == srv.url + path
    env.close()


def test_regenerating_the_snapshots_gives_the_committed_files(tmp_path: Path, monkeypatch, capsys) -> None:
    written = tmp_path / "wsdl"
    monkeypatch.setattr(snapshot, "SNAPSHOT_DIR", written)  # the package's own files stay as committed
    assert snapshot.main() == 0
    assert capsys.readouterr().out.splitlines() == [f"wrote {written / name}" for name in FILE_NAMES.values()]
    for name in FILE_NAMES.values():
        assert (written / name).read_bytes() == (SNAPSHOT_DIR / name).read_bytes(), name


@pytest.mark.parametrize("name,port_type,service", [("B2BStudent.wsdl", "IB2BStudentService", "B2BStudentService"),
                                                    ("B2BAdmin.wsdl", "IB2BAdminService", "B2BAdminService")])
def test_wcf_names_actions_and_parts(name: str, port_type: str, service: str) -> None:
    root = _snapshot(name)
    assert root.get("targetNamespace") == TNS
    assert [p.get("name") for p in root.iterfind("wsdl:portType", NS)] == [port_type]
    binding = root.find("wsdl:binding", NS)
    assert binding.get("name") == f"BasicHttpBinding_{port_type}"
    assert binding.find("soap:binding", NS).get("transport") == "http://schemas.xmlsoap.org/soap/http"
    assert binding.find("soap:binding", NS).get("style") == "document"
    port = root.find("wsdl:service/wsdl:port", NS)
    assert root.find("wsdl:service", NS).get("name") == service
    assert port.get("name") == f"BasicHttpBinding_{port_type}"
    assert port.get("binding").endswith(f":BasicHttpBinding_{port_type}")
    assert SNAPSHOT_URL in port.find("soap:address", NS).get("location")
    for operation in binding.iterfind("wsdl:operation", NS):
        op = operation.get("name")
        assert operation.find("soap:operation", NS).get("soapAction") == f"{TNS}/{port_type}/{op}"
        assert operation.find("wsdl:fault", NS).get("name") == "B2BFault"
    for operation in root.iterfind("wsdl:portType/wsdl:operation", NS):
        op = operation.get("name")
        assert operation.find("wsdl:input", NS).get("message") == f"tns:{op}"
        assert operation.find("wsdl:output", NS).get("message") == f"tns:{op}Response"
        assert operation.find("wsdl:fault", NS).get("message") == "tns:B2BFault"
    for message in root.iterfind("wsdl:message", NS):
        part = message.find("wsdl:part", NS)
        expected = "B2BFault" if message.get("name") == "B2BFault" else "parameters"
        assert part.get("name") == expected and part.get("element") == f"tns:{message.get('name')}"


def test_student_operations_and_results() -> None:
    root = _snapshot("B2BStudent.wsdl")
    operations = [o.get("name") for o in root.iterfind("wsdl:portType/wsdl:operation", NS)]
    assert sorted(operations) == sorted(STUDENT_OPERATIONS)
    schema = root.find("wsdl:types/xs:schema", NS)
    assert schema.get("elementFormDefault") == "qualified"
    for op in STUDENT_OPERATIONS:
        response = schema.find(f"xs:complexType[@name='{op}Response']", NS)
        results = [e.get("name") for e in response.iterfind(".//xs:element", NS)]
        assert results in ([f"{op}Result"], []), op
    assert [e.get("name") for e in schema.find("xs:complexType[@name='UploadFile']", NS).iterfind(
        ".//xs:element", NS)] == ["header", "content"]
    for op, arg in (("GetFileStatus", "fileId"), ("DownloadFile", "fileId"), ("AcknowledgeDownload", "fileId"),
                    ("DeleteScheduledTask", "taskId"), ("SaveScheduledTask", "task")):
        assert [e.get("name") for e in schema.find(f"xs:complexType[@name='{op}']", NS).iterfind(
            ".//xs:element", NS)] == [arg]


@pytest.mark.parametrize("type_name", sorted(TYPE_ORDER))
def test_element_order_and_dotnet_types(type_name: str) -> None:
    schema = _snapshot("B2BStudent.wsdl").find("wsdl:types/xs:schema", NS)
    complex_type = schema.find(f"xs:complexType[@name='{type_name}']", NS)
    elements = complex_type.findall("xs:sequence/xs:element", NS)
    assert [e.get("name") for e in elements] == TYPE_ORDER[type_name].split()
    for element in elements:
        assert element.get("type") != "xs:integer", f"{type_name}.{element.get('name')} must be int or long"
        if element.get("name") in NOT_INTEGER:
            assert element.get("type") in ("xs:int", "xs:long")
        if element.get("name").endswith("Utc"):
            assert element.get("type") == "xs:dateTime"
