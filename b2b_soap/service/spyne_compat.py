"""Lets spyne 2.14 import on Python 3.12 and 3.13. Imported by ``service/__init__`` before spyne.

- spyne vendors an old ``six`` whose ``moves`` importer has only ``find_module``, which the
  import system stopped calling in 3.12, so ``spyne.util.six.moves`` is not found
  (arskom/spyne#700, #708). :class:`VendoredSixMoves` finds those modules for it.
- spyne imports ``cgi``, removed in 3.13 (arskom/spyne#712); the ``legacy-cgi`` distribution,
  a dependency on 3.13+, provides it.
"""
from __future__ import annotations

import importlib.abc
import importlib.util
import sys
from importlib.machinery import ModuleSpec
from types import ModuleType

__all__ = ["VendoredSixMoves", "install"]

MOVES = "spyne.util.six.moves"


class VendoredSixMoves(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds ``spyne.util.six.moves*`` through the vendored six's own importer."""

    def find_spec(self, fullname: str, path=None, target=None) -> ModuleSpec | None:
        if fullname == MOVES or fullname.startswith(MOVES + "."):
            if self._six_importer(fullname) is not None:
                return importlib.util.spec_from_loader(fullname, self)
        return None

    def create_module(self, spec: ModuleSpec) -> ModuleType:
        return self._six_importer(spec.name).load_module(spec.name)

    def exec_module(self, module: ModuleType) -> None:
        """``create_module`` returned the module ready."""

    @staticmethod
    def _six_importer(fullname: str):
        for finder in sys.meta_path:
            if fullname in getattr(finder, "known_modules", ()):
                return finder
        return None


def install() -> None:
    """Put the finder first on ``sys.meta_path`` (once); harmless on 3.11."""
    if not any(isinstance(finder, VendoredSixMoves) for finder in sys.meta_path):
        sys.meta_path.insert(0, VendoredSixMoves())
