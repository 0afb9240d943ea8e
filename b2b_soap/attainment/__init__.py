"""B2B Attainment: aspect hierarchies, the import and suspense directories, the import job,
suspense resolution and results out.

Only the directory functions are re-exported here, because the file store (``files``) and
``serve`` import them and this package must stay light for them; the rest lives in
``hierarchies``, ``jobs``, ``suspense`` and ``results``.
"""
from .directories import UnsafeDirectory, accept_attainment_file, check_directories

__all__ = ["UnsafeDirectory", "accept_attainment_file", "check_directories"]
