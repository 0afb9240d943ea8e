"""The LA population of persons: bulk CSV import, audited single updates, and the person fields."""
from .changes import (ImportReport, Progress, RowProblem, get_person, import_persons_csv, load_carer_links,
                      person_record, update_person, upsert_persons)
from .fields import OPTIONAL_COLUMNS, REQUIRED_COLUMNS

__all__ = ["RowProblem", "ImportReport", "Progress", "import_persons_csv", "upsert_persons",
           "load_carer_links", "update_person", "get_person", "person_record", "REQUIRED_COLUMNS",
           "OPTIONAL_COLUMNS"]
