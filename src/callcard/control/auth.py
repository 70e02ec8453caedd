"""The control API's token: one random secret per data directory, in a 0600 file beside the database."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

__all__ = ["load_or_create_token"]


def load_or_create_token(data_dir: Path) -> str:
    """The data directory's control token, created on first use (file ``control-token``, mode 0600)."""
    path = Path(data_dir) / "control-token"
    if path.exists():
        token = path.read_text().strip()
        if token:
            return token
    path.parent.mkdir(parents=True, exist_ok=True)
    token = secrets.token_urlsafe(24)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(token + "\n")
    os.chmod(path, 0o600)
    return token
