"""A saved model's folder, replaced as a whole by renaming, and recovered.

A save writes a hidden ``.<name>.saving-*`` folder beside its target, flushes
it to the disk, renames the target to a hidden ``.<name>.replaced-*`` folder
and the new one into its place. A process killed between the two renames
leaves no folder at the target but two complete saves beside it:
:func:`finish_interrupted_save` puts the newer in place, and
:func:`remove_leftovers` deletes what killed saves left behind.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
from pathlib import Path

from .files import CONFIG_FILE, WEIGHT_FILES, weights_file

#: The hidden folders of a save under way, and of the save it replaces.
PURPOSES = ("saving", "replaced")


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
    """Put the folder ``new`` in the place of ``folder`` by renaming.

    The renames are flushed to the disk, so that a power cut after this
    returns finds the new folder in place.
    """
    if not folder.exists():
        new.rename(folder)
        flush_to_disk(folder.parent)
        return
    replaced = sibling(folder, "replaced")
    folder.rename(replaced)
    try:
        new.rename(folder)
    except BaseException:
        replaced.rename(folder)
        raise
    flush_to_disk(folder.parent)
    shutil.rmtree(replaced, ignore_errors=True)


def flush_to_disk(path: Path) -> None:
    """``fsync`` a file, or a folder's entries where the system allows it."""
    flags = os.O_RDONLY | (getattr(os, "O_DIRECTORY", 0) if path.is_dir() else 0)
    try:
        descriptor = os.open(path, flags)
    except OSError:  # a folder cannot be opened on Windows
        return
    try:
        os.fsync(descriptor)
    except OSError:
        if not path.is_dir():  # some file systems do not sync folders
            raise
    finally:
        os.close(descriptor)


def hidden_copies(folder: Path) -> list[Path]:
    """The hidden folders that saves to ``folder`` left beside it."""
    return sorted(
        path
        for purpose in PURPOSES
        for path in folder.parent.glob(f".{folder.name}.{purpose}-*")
        if path.is_dir()
    )


def is_complete_save(path: Path) -> bool:
    """Whether ``path`` holds a readable configuration and the weights it names."""
    try:
        weights_file(path, json.loads((path / CONFIG_FILE).read_text())["weights"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return False  # CorruptSaveError is a ValueError
    return True


def finish_interrupted_save(folder: Path) -> Path:
    """Where the save of ``folder`` is, after finishing a swap cut short.

    When ``folder`` is missing but complete saves lie hidden beside it (a
    process killed between the two renames of a save), the newest, the new
    save before the one it replaced, is renamed into place. Where renaming
    is not allowed, its hidden path is returned to be read from.
    """
    if folder.exists():
        return folder
    complete = [path for path in hidden_copies(folder) if is_complete_save(path)]
    if not complete:
        return folder
    newest = max(
        complete,
        key=lambda path: (
            path.name.startswith(f".{folder.name}.saving-"),
            (path / CONFIG_FILE).stat().st_mtime,
        ),
    )
    try:
        newest.rename(folder)
    except OSError:
        return newest
    flush_to_disk(folder.parent)
    return folder


def remove_leftovers(folder: Path) -> None:
    """Delete the hidden folders that killed saves to ``folder`` left."""
    for path in hidden_copies(folder):
        shutil.rmtree(path, ignore_errors=True)
