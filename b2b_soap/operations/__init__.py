"""Running a b2b-soap server for years: backups, storage keys, data-protection requests, retention."""
from .backup import backup_database, restore_database
from .keys import add_key, key_status, reencrypt, retire_key
from .privacy import erase_person, export_person
from .retention import run_retention

__all__ = ["backup_database", "restore_database", "add_key", "key_status", "reencrypt", "retire_key",
           "export_person", "erase_person", "run_retention"]
