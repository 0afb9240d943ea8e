"""LA review of incoming data, shared by the CLI, the admin SOAP service and the web pages.

Every function takes the session and the actor (an LA ``User``, or a name for the CLI's
local administrator), checks the actor's permission and writes the audit log.
"""
from .conflicts import list_conflicts, resolve_conflict, resolve_conflicts, resolve_filtered_conflicts, update_person
from ._listing import UNMATCHED_SORTS, typed_day
from .files import base_report, import_file, list_files, retry_file
from .undo import reopen_incoming, undo_plan
from .unmatched import (create_person_from_incoming, get_incoming, list_unmatched, match_incoming, reject_incoming,
                        rematch_incoming, search_persons)

__all__ = ["list_unmatched", "get_incoming", "search_persons", "match_incoming", "create_person_from_incoming", "reject_incoming",
           "undo_plan", "reopen_incoming", "rematch_incoming",
           "list_conflicts", "resolve_conflict", "resolve_conflicts", "resolve_filtered_conflicts", "update_person",
           "base_report", "list_files", "retry_file", "import_file", "UNMATCHED_SORTS", "typed_day"]
