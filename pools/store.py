"""Where checkpoints live: a folder (default; atomic writes) or an Optuna artifact store.

``open_store(url)`` accepts a plain path or ``file:///path`` (this project's atomic file store),
``optuna-fs:///path`` (Optuna's ``FileSystemArtifactStore``), ``s3://bucket/prefix``
(``Boto3ArtifactStore``, needs boto3) and ``gs://bucket/prefix`` (``GCSArtifactStore``) -- the last
two for workers on several machines without a shared filesystem.
"""

from __future__ import annotations

import contextlib
import io
import pickle
import zipfile
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlparse

import torch

from nas_core.training.checkpoint import CheckpointError, atomic_write_bytes, load_checkpoint


class CheckpointStore(Protocol):
    url: str

    def save(self, key: str, state: dict[str, Any]) -> None: ...

    def load(self, key: str) -> dict[str, Any]: ...

    def delete(self, key: str) -> None: ...


class FileCheckpointStore:
    """Checkpoints as files under ``root``; each write is atomic (temp, fsync, rename)."""

    def __init__(self, root: str | Path):
        self.root = Path(root).resolve()
        self.url = f"file://{self.root}"

    def path(self, key: str) -> Path:
        """``root / key``; a key that leaves the root (absolute, ``..``, a link out) is an error."""
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root):
            raise CheckpointError(f"checkpoint key {key!r} points outside the store {self.root}")
        return path

    def save(self, key: str, state: dict[str, Any]) -> None:
        buffer = io.BytesIO()
        torch.save(state, buffer)
        atomic_write_bytes(self.path(key), buffer.getvalue())

    def load(self, key: str) -> dict[str, Any]:
        return load_checkpoint(self.path(key))

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)


class ArtifactCheckpointStore:
    """Checkpoints in any Optuna artifact store (file system, S3, GCS)."""

    def __init__(self, store: Any, url: str):
        self.store, self.url = store, url

    def save(self, key: str, state: dict[str, Any]) -> None:
        buffer = io.BytesIO()
        torch.save(state, buffer)
        buffer.seek(0)
        try:
            self.store.write(key, buffer)
        except Exception as exc:  # the artifact backends raise their own error types
            raise CheckpointError(f"cannot write checkpoint {key} to {self.url}: {exc}") from None

    def load(self, key: str) -> dict[str, Any]:
        from optuna.artifacts.exceptions import ArtifactNotFound

        try:
            with self.store.open_reader(key) as reader:
                data = reader.read()
        except ArtifactNotFound:
            raise CheckpointError(f"checkpoint {key} does not exist in {self.url}") from None
        try:
            state = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
        except (RuntimeError, EOFError, pickle.UnpicklingError, zipfile.BadZipFile, ValueError) as exc:
            raise CheckpointError(f"checkpoint {key} in {self.url} is truncated or corrupted ({exc})") from None
        return state

    def delete(self, key: str) -> None:
        from optuna.artifacts.exceptions import ArtifactNotFound

        with contextlib.suppress(ArtifactNotFound):
            self.store.remove(key)


def open_store(url: str | Path) -> CheckpointStore:
    """The checkpoint store named by ``url`` (see the module docstring)."""
    text = str(url)
    parsed = urlparse(text)
    if parsed.scheme in ("", "file"):
        return FileCheckpointStore(parsed.path if parsed.scheme else text)
    import optuna.artifacts as artifacts

    bucket, prefix = parsed.netloc, parsed.path.lstrip("/")
    if parsed.scheme == "optuna-fs":
        return ArtifactCheckpointStore(artifacts.FileSystemArtifactStore(_make_dir(parsed.path)), text)
    if parsed.scheme == "s3":
        return ArtifactCheckpointStore(_Prefixed(artifacts.Boto3ArtifactStore(bucket), prefix), text)
    if parsed.scheme == "gs":
        return ArtifactCheckpointStore(_Prefixed(artifacts.GCSArtifactStore(bucket), prefix), text)
    raise ValueError(
        f"unsupported checkpoint store {text!r}; expected a folder path, file:///path, "
        f"optuna-fs:///path, s3://bucket/prefix or gs://bucket/prefix"
    )


def _make_dir(path: str) -> str:
    Path(path).mkdir(parents=True, exist_ok=True)
    return path


class _Prefixed:
    """An artifact store whose ids are prefixed (one bucket, many pools)."""

    def __init__(self, store: Any, prefix: str):
        self.store, self.prefix = store, prefix.rstrip("/") + "/" if prefix else ""

    def write(self, key: str, body: Any) -> None:
        self.store.write(self.prefix + key, body)

    def open_reader(self, key: str) -> Any:
        return self.store.open_reader(self.prefix + key)

    def remove(self, key: str) -> None:
        self.store.remove(self.prefix + key)
