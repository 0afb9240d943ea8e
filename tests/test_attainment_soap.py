"""B2B Attainment through SIMS' SOAP calls (real server, zeep): size limit, licence,
upload into the import directory, and the attainment task alert."""
from __future__ import annotations

import os
import stat

import pytest
import zeep
from sqlalchemy import func, select

from b2b_soap import alerts
from b2b_soap.licensing import ATTAINMENT_FEATURES
from b2b_soap.attainment.examples import EXAMPLE_HIERARCHY_FILE, make_school_attainment
from b2b_soap.attainment.hierarchies import load_hierarchy_file, search_hierarchies
from b2b_soap.attainment.jobs import import_attainment
from b2b_soap.db import Alert, AttainmentImport, AttainmentResult, Base, VirtualFile, session_scope
from b2b_soap.licensing import FEATURES
from b2b_soap.transfer.writer import make_example_pupils
from server import running_server, zeep_client
from service_setup import PASSWORD, ServiceEnv, file_header, student_file, TNS, fault_code
from test_attainment_support import LAESTAB, attainment_bytes, link_pupils

LIMIT = 2_097_152




@pytest.fixture
def env(tmp_path, database_url):
    environment = ServiceEnv.create(tmp_path, database_url)
    environment.add_school(LAESTAB, "sims")
    with session_scope(environment.ctx.sessions) as session:
        load_hierarchy_file(session, "la-admin", EXAMPLE_HIERARCHY_FILE)
    environment.attainment_task = environment.add_task(LAESTAB, "Attainment")
    yield environment
    environment.close()


def _upload(client, data: bytes, task_id: int, data_type: str = "Attainment", **header):
    header = file_header(client, data, data_type=data_type, name="att.xml", task_id=task_id, **header)
    return client.service.UploadFile(header=header, content=data)


def _padded(size: int, task_id: int) -> bytes:
    """A valid attainment file of exactly ``size`` bytes (padded with a trailing comment)."""
    data = attainment_bytes(make_school_attainment(make_example_pupils(5, seed=2)), task_id=task_id)
    filler = size - len(data) - len(b"<!---->\n")
    return data + b"<!--" + b"x" * filler + b"-->\n"


def test_attainment_file_of_2_mb_plus_1_byte_is_refused_before_storing(env):
    with running_server(env.config_path) as srv:
        sims = zeep_client(srv, "sims", PASSWORD)
        too_big = _padded(LIMIT + 1, env.attainment_task)
        with pytest.raises(zeep.exceptions.Fault) as refused:
            _upload(sims, too_big, env.attainment_task)
        assert fault_code(refused.value, sims) == "PayloadTooLarge" and str(LIMIT) in refused.value.message
        assert sims.service.GetServerInfo().MaxAttainmentFileBytes == LIMIT
    with session_scope(env.ctx.sessions) as session:
        assert session.scalar(select(func.count()).select_from(VirtualFile)) == 0
    assert not env.settings.import_path.exists() or os.listdir(env.settings.import_path) == []


def test_attainment_upload_needs_every_attainment_licence_feature(env):
    with running_server(env.config_path) as srv:
        sims = zeep_client(srv, "sims", PASSWORD)
        for missing in ATTAINMENT_FEATURES[1:]:  # without B2B_STUDENT nothing works at all
            env.install_licence([f for f in FEATURES if f != missing])
            with pytest.raises(zeep.exceptions.Fault) as refused:
                _upload(sims, _padded(4000, env.attainment_task), env.attainment_task)
            assert fault_code(refused.value, sims) == "NotLicensed" and missing in refused.value.message
            assert _upload(sims, student_file(LAESTAB), None, data_type="Student").Status == "Received"
        env.install_licence([f for f in FEATURES if f != "B2B_STUDENT"])
        with pytest.raises(zeep.exceptions.Fault) as refused:
            _upload(sims, _padded(4000, env.attainment_task), env.attainment_task)
        assert fault_code(refused.value, sims) == "NotLicensed"


def test_valid_attainment_upload_is_written_to_the_import_directory_and_imported(env):
    pupils = make_example_pupils(12, seed=4)
    with session_scope(env.ctx.sessions) as session:
        link_pupils(session, session.scalar(select(Base.id).where(Base.laestab == LAESTAB)), pupils, 1.0)
    data = attainment_bytes(make_school_attainment(pupils), task_id=env.attainment_task)
    with running_server(env.config_path) as srv:
        sims = zeep_client(srv, "sims", PASSWORD)
        receipt = _upload(sims, data, env.attainment_task)
        assert receipt.Status == "Received"
    path = env.settings.import_path / f"{receipt.FileId}.xml"
    assert path.read_bytes() == data and stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert import_attainment(env.ctx)["imported"] == 1
    with session_scope(env.ctx.sessions) as session:
        assert session.get(AttainmentImport, receipt.FileId).status == "imported"
        assert session.scalar(select(func.count()).select_from(AttainmentResult)) > 0


def test_school_changing_its_attainment_task_raises_the_alert(env):
    with session_scope(env.ctx.sessions) as session:
        hierarchy_id = search_hierarchies(session, "B2B KS2")[0].id
    with running_server(env.config_path) as srv:
        sims = zeep_client(srv, "sims", PASSWORD)
        task_type = sims.get_type(f"{{{TNS}}}ScheduledTask")
        task = sims.service.SaveScheduledTask(task=task_type(
            TaskId=0, Name="KS2 results", DataType="Attainment", Direction="Export", Enabled=True,
            Frequency="Weekly", TimeOfDay="19:00", DaysOfWeek={"string": ["Fri"]},
            NcYears={"string": ["6"]}, IncludeLeavers=False, AspectHierarchyId=hierarchy_id))
        listed = {t.TaskId: t.AspectHierarchyId for t in sims.service.GetScheduledTasks()}
        assert listed == {env.attainment_task: None, task.TaskId: hierarchy_id}
        task.TimeOfDay = "20:00"
        sims.service.SaveScheduledTask(task=task)
    with session_scope(env.ctx.sessions) as session:
        raised = session.scalars(select(Alert).order_by(Alert.id)).all()
        assert [a.trigger for a in raised] == [alerts.ATTAINMENT_TASK_ALTERED] * 2
        assert LAESTAB in raised[-1].subject and "sims" in raised[-1].body
