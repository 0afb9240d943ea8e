"""Each LA page renders with data, and each action changes the database through the review functions."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from b2b_soap.db import Conflict, IncomingRecord, Person, ScheduledTask, SystemDefault, VirtualFile
from b2b_soap.web import make_web_app
from test_web_support import make_context, post_form, seed_review, sign_in


@pytest.fixture
def world(tmp_path, database_url):
    world = make_context(tmp_path, database_url)
    world.ids = seed_review(world.ctx, world.base_ids)
    yield world
    world.ctx.close()


@pytest.fixture
def client(world):
    client = make_web_app(world.ctx).test_client()
    sign_in(client)
    return client


def _text(client, url: str, status: int = 200) -> str:
    response = client.get(url)
    assert response.status_code == status, (url, response.status_code, response.get_data(as_text=True)[:2000])
    return response.get_data(as_text=True)


def _check_unmatched_list_and_filters(client, world):
    page = _text(client, "/unmatched/")
    assert "Smith, Amy" in page and "Newcomer, Zara" in page and "Record, Test" in page
    assert "Smith, Carol" not in page  # carers are shown on their pupil's page, not in the list
    assert "Smith, Amy" in _text(client, "/unmatched/?candidates=yes")
    assert "Newcomer, Zara" not in _text(client, "/unmatched/?candidates=yes")
    assert "Smith, Amy" not in _text(client, "/unmatched/?max_age=5")
    assert "No unmatched pupils" in _text(client, "/unmatched/?base=9992002")
    refused = _text(client, "/unmatched/?min_age=ten", 400)
    assert "Youngest age must be a whole number" in refused and "Smith, Amy" not in refused


def _check_unmatched_obeys_b2b_s_age(client, world):
    from datetime import date

    from b2b_soap.processing.population import age_on
    zara = age_on(date(2016, 2, 2), date.today())
    assert age_on(date(2015, 3, 1), date.today()) == zara + 1
    post_form(client, "/defaults/", "/defaults/", {"B2B_S_AGE": str(zara)})
    page = _text(client, "/unmatched/")
    assert "Newcomer, Zara" in page and "Smith, Amy" not in page
    post_form(client, "/defaults/", "/defaults/", {"B2B_S_AGE": "18"})


def _check_record_page_shows_candidates_contributions_and_carers(client, world):
    page = _text(client, f"/unmatched/{world.ids['amy']}")
    assert "Candidate 1" in page and "Candidate 2" in page and "Smyth" in page
    assert "Forename: same +4.8" in page and "Date of birth: same +1.0" in page
    assert "Score 85.0% is below the automatic match line of 90.0%" in page
    assert "Carers and contacts" in page and "Carol Smith" in page and "Surname: same +7.0" in page
    assert "Match to candidate 1" in page and "Create a new person" in page


def _check_match_to_candidate_and_carer(client, world):
    ids = world.ids
    response = post_form(client, f"/unmatched/{ids['amy']}", f"/unmatched/{ids['amy']}/match",
                         {"person_id": ids["amy_person"]})
    assert response.status_code == 302 and "done=matched" in response.headers["Location"]
    response = post_form(client, f"/unmatched/{ids['amy']}", f"/unmatched/{ids['carer']}/match",
                         {"person_id": _person_id(world, "Carol")})
    assert f"/unmatched/{ids['amy']}" in response.headers["Location"]
    with world.ctx.sessions() as s:
        amy, carer = s.get(IncomingRecord, ids["amy"]), s.get(IncomingRecord, ids["carer"])
        assert (amy.status, amy.decision, amy.person_id, amy.decided_by) == ("matched", "manual", ids["amy_person"], "reviewer")
        assert carer.status == "matched"
    assert "Smith, Amy" not in _text(client, "/unmatched/")


def _person_id(world, forename: str) -> int:
    with world.ctx.sessions() as s:
        return s.scalar(select(Person.id).where(Person.forename == forename))


def _check_search_population_then_match(client, world):
    ids = world.ids
    page = _text(client, f"/unmatched/{ids['searcher']}/search?surname=jon")
    assert "Jones, Ben" in page
    assert "Enter a surname" in _text(client, f"/unmatched/{ids['searcher']}/search?postcode=ZZ9")
    response = post_form(client, f"/unmatched/{ids['searcher']}/search?surname=jon",
                         f"/unmatched/{ids['searcher']}/match", {"person_id": ids["ben_person"]})
    assert response.status_code == 302
    with world.ctx.sessions() as s:
        assert s.get(IncomingRecord, ids["searcher"]).person_id == ids["ben_person"]


def _check_create_person_and_reject(client, world):
    ids = world.ids
    response = post_form(client, f"/unmatched/{ids['newbie']}", f"/unmatched/{ids['newbie']}/create", {})
    assert response.status_code == 302 and "done=created" in response.headers["Location"]
    response = post_form(client, f"/unmatched/{ids['reject']}", f"/unmatched/{ids['reject']}/reject",
                         {"reason": "test record"})
    assert "done=rejected" in response.headers["Location"]
    with world.ctx.sessions() as s:
        newbie = s.get(IncomingRecord, ids["newbie"])
        assert newbie.decision == "new" and s.get(Person, newbie.person_id).surname == "Newcomer"
        assert s.get(IncomingRecord, ids["reject"]).status == "rejected"
    assert "A new person has been created" in _text(client, "/unmatched/?done=created")


def _check_conflicts_list_person_page_and_resolve_one(client, world):
    page = _text(client, "/conflicts/")
    assert "Jones, Ben" in page and "Brown, Cat" in page and "Jonas" in page
    assert "Jones, Ben" not in _text(client, "/conflicts/?field=address")
    person = _text(client, f"/conflicts/person/{world.ids['ben_person']}")
    assert "ZZ9 9AC" in person and "students-1.xml" in person
    with world.ctx.sessions() as s:
        surname = s.scalar(select(Conflict.id).where(Conflict.person_id == world.ids["ben_person"],
                                                     Conflict.field == "surname"))
    response = post_form(client, f"/conflicts/person/{world.ids['ben_person']}", f"/conflicts/{surname}/resolve",
                         {"action": "take", "back": f"person:{world.ids['ben_person']}"})
    assert response.status_code == 302
    with world.ctx.sessions() as s:
        assert s.get(Person, world.ids["ben_person"]).surname == "Jonas"
        assert s.get(Conflict, surname).status == "taken"


def _check_bulk_resolve_selected_and_whole_filter(client, world):
    with world.ctx.sessions() as s:
        cat = list(s.scalars(select(Conflict.id).where(Conflict.person_id == world.ids["cat_person"])))
    response = post_form(client, "/conflicts/", "/conflicts/bulk",
                         {"action": "keep", "scope": "selected", "conflict": cat})
    assert "resolved=2" in response.headers["Location"]
    assert "2 conflicts resolved: kept the LA value" in _text(client, response.headers["Location"])
    response = post_form(client, "/conflicts/", "/conflicts/bulk", {"action": "take", "scope": "filter",
                                                                    "base": "9991001"})
    confirm = _text(client, response.headers["Location"])
    assert 'id="confirm-count">1<' in confirm and "base 9991001" in confirm  # Ben's postcode: the one still open
    response = post_form(client, response.headers["Location"], "/conflicts/resolve-all",
                         {"action": "take", "base": "9991001", "expected": "1"})
    assert "resolved=1" in response.headers["Location"]
    with world.ctx.sessions() as s:
        assert s.scalar(select(Conflict.id).where(Conflict.status == "open")) is None
        assert s.get(Person, world.ids["cat_person"]).surname == "Brown"


def _check_files_page_and_retry(client, world):
    page = _text(client, "/files/")
    assert "students-6.xml" in page and "Failed" in page
    assert "students-6.xml" not in _text(client, "/files/?status=Failed")
    rejected = _text(client, "/files/?status=Rejected")
    file_page = _text(client, f"/files/{world.ids['failed_file']}")
    assert "database was busy" in file_page and "Process this file again" in file_page
    response = post_form(client, f"/files/{world.ids['failed_file']}", f"/files/{world.ids['failed_file']}/retry", {})
    assert response.status_code == 302
    with world.ctx.sessions() as s:
        assert s.get(VirtualFile, world.ids["failed_file"]).status == "Received"
    assert "students-3.xml" in rejected


def _check_file_page_shows_validation_errors(client, world):
    with world.ctx.sessions() as s:
        rejected = s.scalar(select(VirtualFile.id).where(VirtualFile.status == "Rejected"))
    page = _text(client, f"/files/{rejected}")
    assert "UPN is too long" in page and ">12<" in page


def _check_reports(client, world):
    page = _text(client, "/reports/")
    assert "9991001 Oak Primary" in page
    report = _text(client, "/reports/9991001")
    assert 'id="waiting-unmatched">4<' in report and 'id="open-conflicts">4<' in report
    assert "<svg" in report and "<rect" in report and "students-3.xml" in report
    assert _text(client, "/reports/9990000", 404)


def _check_tasks_view_and_edit(client, world):
    base = world.base_ids["9991001"]
    assert "This base has no tasks" in _text(client, f"/tasks/?base={base}")
    form = {"base_id": base, "task_id": 0, "name": "Weekly census", "data_type": "Student", "direction": "Export",
            "frequency": "Weekly", "time_of_day": "18:30", "days_of_week": ["Mon", "Thu"], "nc_years": ["5", "6"],
            "enabled": "yes"}
    refused = post_form(client, f"/tasks/new?base={base}", "/tasks/save", {**form, "time_of_day": "25:00"})
    assert refused.status_code == 400 and "time_of_day must be HH:MM" in refused.get_data(as_text=True)
    response = post_form(client, f"/tasks/new?base={base}", "/tasks/save", form)
    assert response.status_code == 302
    page = _text(client, f"/tasks/?base={base}")
    assert "Weekly census" in page and "Mon,Thu" in page
    with world.ctx.sessions() as s:
        task = s.scalar(select(ScheduledTask))
        assert (task.owner, task.nc_years) == ("LA", "5,6")
    assert "Weekly census" in _text(client, f"/tasks/{task.id}/edit")
    post_form(client, f"/tasks/?base={base}", f"/tasks/{task.id}/delete", {})
    assert "This base has no tasks" in _text(client, f"/tasks/?base={base}")


def _check_jobs_history_and_run_now(client, world):
    assert "No job has run yet" in _text(client, "/jobs/")
    response = post_form(client, "/jobs/", "/jobs/run", {"job": "clear_conflicts"})
    assert response.status_code == 302
    page = _text(client, response.headers["Location"])
    assert "The job has run" in page and "clear_conflicts" in page


def _check_jobs_added_changed_paused_and_removed(client, world):
    from b2b_soap.db import AuditEntry, MaintenanceJob
    response = post_form(client, "/jobs/", "/jobs/save", {"name": "cache-weekly", "action": "clear_cache",
                                                           "cron": "0 4 * * 0", "args": "older_than_days=30"})
    assert response.status_code == 302
    page = _text(client, response.headers["Location"])
    assert "Job cache-weekly saved" in page and "0 4 * * 0" in page and "older_than_days=30" in page
    assert post_form(client, "/jobs/", "/jobs/save", {"name": "cache-weekly", "seconds": "600"}).status_code == 302
    assert post_form(client, "/jobs/", "/jobs/cache-weekly/pause", {}).status_code == 302
    assert "Resume cache-weekly" in _text(client, "/jobs/")
    with world.ctx.sessions() as s:
        job = s.scalar(select(MaintenanceJob).where(MaintenanceJob.name == "cache-weekly"))
        assert (job.trigger, job.seconds, job.args, job.paused) == ("interval", 600, {"older_than_days": 30}, True)
    refused = post_form(client, "/jobs/", "/jobs/save", {"name": "bad", "action": "clear_cache", "cron": "0 25 * * *"})
    assert refused.status_code == 400 and "cron &#39;0 25 * * *&#39; is not valid" in refused.get_data(as_text=True)
    assert post_form(client, "/jobs/", "/jobs/cache-weekly/resume", {}).status_code == 302
    assert "Pause cache-weekly" in _text(client, "/jobs/")
    assert post_form(client, "/jobs/", "/jobs/cache-weekly/remove", {}).status_code == 302
    assert "No job is scheduled" in _text(client, "/jobs/")
    assert post_form(client, "/jobs/", "/jobs/cache-weekly/pause", {}).status_code == 404
    assert client.post("/jobs/save", data={"name": "x", "action": "clear_cache", "seconds": "60"}).status_code == 400
    with world.ctx.sessions() as s:
        trail = s.scalars(select(AuditEntry.action).where(AuditEntry.object_type == "maintenance_job")
                          .order_by(AuditEntry.id)).all()
    assert trail == ["job.add", "job.change", "job.pause", "job.resume", "job.remove"]


def _check_alerts_page(client, world):
    from b2b_soap import alerts
    from b2b_soap.db import session_scope
    with session_scope(world.ctx.sessions) as s:
        alerts.raise_alert(s, world.ctx.settings, alerts.FILE_REJECTED, "File rejected at 9991001", "details")
    page = _text(client, "/alerts/")
    assert "File rejected at 9991001" in page


def _check_defaults_validation(client, world):
    response = post_form(client, "/defaults/", "/defaults/", {"B2B_S_AGE": "abc", "GUIDMATCH": "F"})
    assert response.status_code == 400 and "must be a whole number" in response.get_data(as_text=True)
    with world.ctx.sessions() as s:
        assert s.get(SystemDefault, "GUIDMATCH").value == "T"  # all or nothing
    assert post_form(client, "/defaults/", "/defaults/", {"GUIDMATCH": "F"}).status_code == 302
    with world.ctx.sessions() as s:
        assert s.get(SystemDefault, "GUIDMATCH").value == "F"


def _check_unknown_pages_are_404(client, world):
    assert _text(client, "/unmatched/999999", 404)
    assert _text(client, "/files/nope", 404)


def test_read_pages(client, world):
    """Every list and detail page renders the seeded data (one database set-up for all of them)."""
    for check in (_check_unmatched_list_and_filters, _check_record_page_shows_candidates_contributions_and_carers,
                  _check_file_page_shows_validation_errors, _check_reports, _check_alerts_page,
                  _check_unknown_pages_are_404):
        check(client, world)


def test_b2b_s_age(client, world):
    _check_unmatched_obeys_b2b_s_age(client, world)


def test_unmatched_decisions(client, world):
    for check in (_check_match_to_candidate_and_carer, _check_search_population_then_match,
                  _check_create_person_and_reject):
        check(client, world)


def test_conflicts_one_by_one_and_in_bulk(client, world):
    _check_conflicts_list_person_page_and_resolve_one(client, world)
    _check_bulk_resolve_selected_and_whole_filter(client, world)


def test_admin_pages_and_actions(client, world):
    for check in (_check_files_page_and_retry, _check_tasks_view_and_edit, _check_jobs_history_and_run_now,
                  _check_jobs_added_changed_paused_and_removed, _check_defaults_validation):
        check(client, world)
