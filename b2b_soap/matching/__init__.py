"""Pure probabilistic matching of incoming records to an LA population.

Pipeline (as splink's): blocking → comparisons → training (u by random pairs,
m by EM) → scoring → decision, plus the UPN rule on top.  No database or SOAP
imports: the db engine feeds this library.
"""

from b2b_soap.matching.decide import Candidate, ComparisonScore, Decision, match_records
from b2b_soap.matching.index import PopulationIndex
from b2b_soap.matching.model import MatchModel, ModelError
from b2b_soap.matching.pipeline import link_records
from b2b_soap.matching.records import RECORD_FIELDS, Record
from b2b_soap.matching.settings import ComparisonSettings, MatchSettings, SettingsError
from b2b_soap.matching.training import train_model
from b2b_soap.matching.upn import is_valid_upn, make_upn, upn_check_letter, validate_upn

__all__ = [
    "Record", "RECORD_FIELDS", "MatchSettings", "ComparisonSettings", "MatchModel", "PopulationIndex",
    "Decision", "Candidate", "ComparisonScore", "train_model", "match_records", "link_records",
    "SettingsError", "ModelError", "is_valid_upn", "validate_upn", "make_upn", "upn_check_letter",
]
