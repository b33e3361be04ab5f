"""Names of a package resolved on first use (PEP 562), so that importing the package does not import
torch: the command line's parser, the app's window and sessions need the torch-free parts first."""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module


def lazy_names(package: str, homes: dict[str, str]) -> Callable[[str], object]:
    """A module ``__getattr__`` for ``package`` that imports ``homes[name]`` (a submodule) when ``name``
    is first asked for, and takes ``name`` from it."""

    def __getattr__(name: str) -> object:
        home = homes.get(name)
        if home is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(import_module(f".{home}", package), name)

    return __getattr__
