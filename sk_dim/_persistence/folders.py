"""A saved model's folder, replaced as a whole by renaming."""

from __future__ import annotations

import secrets
import shutil
from pathlib import Path

from .files import CONFIG_FILE, WEIGHT_FILES


def check_save_target(folder: Path) -> None:
    """Refuse a target that is a file, or a folder holding more than a save."""
    if not folder.exists():
        return
    if not folder.is_dir():
        raise ValueError(f"save writes a folder, but {folder} is a file.")
    others = sorted(
        path.name
        for path in folder.iterdir()
        if path.name not in (CONFIG_FILE, *WEIGHT_FILES)
    )
    if others:
        raise ValueError(
            f"save replaces the folder {folder} as a whole, but it holds other "
            f"files than a saved model ({', '.join(others[:5])}); save into a "
            "new or empty folder."
        )


def sibling(folder: Path, purpose: str) -> Path:
    """A new hidden path beside ``folder``, for a save under way or replaced."""
    return folder.with_name(f".{folder.name}.{purpose}-{secrets.token_hex(4)}")


def replace_folder(new: Path, folder: Path) -> None:
    """Put the folder ``new`` in the place of ``folder`` by renaming."""
    if not folder.exists():
        new.rename(folder)
        return
    replaced = sibling(folder, "replaced")
    folder.rename(replaced)
    try:
        new.rename(folder)
    except BaseException:
        replaced.rename(folder)
        raise
    shutil.rmtree(replaced, ignore_errors=True)
