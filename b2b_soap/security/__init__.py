"""Password hashing, permissions, lockout and audit."""
from .audit import audit, audit_many
from .lockout import is_locked, record_failure, record_success, unlock
from .passwords import PasswordPolicyError, check_policy, hash_password, verify_password
from .permissions import (ADMINISTRATION, CONFLICTS, LA_PROCESSES, LEVELS, REPORTS, SCHOOL_PROCESSES,
                          UNMATCHED, check_la_access, check_school_access, la_refusal,
                          school_grants, user_permissions)

__all__ = ["audit", "audit_many", "is_locked", "record_failure", "record_success", "unlock", "PasswordPolicyError",
           "check_policy", "hash_password", "verify_password", "ADMINISTRATION", "CONFLICTS",
           "LA_PROCESSES", "LEVELS", "REPORTS", "SCHOOL_PROCESSES", "UNMATCHED", "check_la_access",
           "check_school_access", "la_refusal", "school_grants", "user_permissions"]
