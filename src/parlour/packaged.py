"""Model files that ship inside installed distributions (embeddings, the local LLM), found
through package metadata, never by importing those packages, and hash-checked before use: a
swapped weights file would silently change what every tenant retrieves or is told. Nothing is
downloaded at run time."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path


class ModelUnavailable(RuntimeError):
    """A model's files are missing or not the ones Parlour was built against."""


@dataclass(frozen=True, slots=True)
class PackagedFile:
    distribution: str
    path: str  # inside the distribution
    sha256: str

    def locate(self) -> Path:
        try:
            files = metadata.files(self.distribution) or []
        except metadata.PackageNotFoundError:
            raise ModelUnavailable(f"{self.distribution} is not installed") from None
        for entry in files:
            if str(entry) == self.path:
                located = Path(str(entry.locate()))
                _verify(located, self.sha256)
                return located
        raise ModelUnavailable(f"{self.path} is not in {self.distribution}")

    def present(self) -> bool:
        """Whether the file is installed, without reading it (`locate` checks its hash)."""
        try:
            files = metadata.files(self.distribution) or []
        except metadata.PackageNotFoundError:
            return False
        found = (Path(str(entry.locate())) for entry in files if str(entry) == self.path)
        return any(path.is_file() for path in found)


def _verify(path: Path, expected: str) -> None:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    if digest.hexdigest() != expected:
        raise ModelUnavailable(f"{path.name} does not have the expected SHA-256")
