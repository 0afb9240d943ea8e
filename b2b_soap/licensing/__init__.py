"""Licences: signed keys (``keys``: issue and verify) and the licence installed on this server
(``installed``: install it, the current one, which features it grants)."""
from .installed import (ACTIVE_LICENCE_KEY, ATTAINMENT_FEATURES, current_licence, install_licence, licence_of,
                        licensed, require_features)
from .keys import (B2B_ATTAINMENT, B2B_STUDENT, FEATURES, PULSE, LicenceError, LicenceInfo, generate_keypair,
                   issue_licence, load_private_key, public_key_text, verify_licence)

__all__ = ["FEATURES", "B2B_STUDENT", "PULSE", "B2B_ATTAINMENT", "ATTAINMENT_FEATURES", "LicenceError",
           "LicenceInfo", "issue_licence", "verify_licence", "generate_keypair", "load_private_key",
           "public_key_text", "install_licence", "current_licence", "require_features", "ACTIVE_LICENCE_KEY",
           "licence_of", "licensed"]
