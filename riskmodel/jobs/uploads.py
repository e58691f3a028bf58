"""Taking a job's input in safely: uploaded tables or a zip of them, or a server folder under an allowed root.

A zip is checked whole before anything is written: no absolute path, no ``..``, no link or device, no encrypted
entry, at most ``max_files`` files and ``max_bytes`` once expanded (counted on the bytes really written, not on
the sizes the zip declares). Its tables may sit at its top or in one top folder (a zipped folder); anything deeper
is refused rather than guessed at. Only contract table files (``TABLE.csv``, ``TABLE.parquet``) and
``dataset.json`` are kept; operating-system clutter (``__MACOSX/``, ``.DS_Store``) is skipped.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import stat
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from riskmodel.contract import TABLES
from riskmodel.errors import RiskmodelError

__all__ = ["JobInputError", "StoredFile", "check_folder", "check_tables", "extract_zip", "remove_tree", "store_upload"]

_TABLE_FILE = re.compile(r"^[a-z][a-z0-9_]{0,63}\.(csv|parquet)$")
_CLUTTER = re.compile(r"(^|/)(__MACOSX/|\.DS_Store$|Thumbs\.db$|desktop\.ini$)")
_COPY_BLOCK = 1024 * 1024


class JobInputError(RiskmodelError):
    """A job's input cannot be taken: an unsafe or malformed zip, a wrong file name, a folder not allowed.

    The evidence holds ``problems``: one sentence per problem, for the officer.
    """


@dataclass(frozen=True)
class StoredFile:
    """A file taken from an upload: its name, size and SHA-256 (for the audit line)."""

    name: str
    bytes: int
    sha256: str


def _is_table_name(name: str) -> bool:
    return name == "dataset.json" or _TABLE_FILE.fullmatch(name) is not None


def store_upload(source: BinaryIO, name: str, dest: Path, *, max_bytes: int) -> StoredFile:
    """Copy one uploaded file to ``dest / name`` (a zip, a table file or ``dataset.json``), at most ``max_bytes``.

    Raises
    ------
    JobInputError
        If the name is not a plain file name of an accepted kind, or the file is larger than ``max_bytes``.
    """
    base = PurePosixPath(name.replace("\\", "/")).name
    if base != name or not (base.lower().endswith(".zip") or _is_table_name(base)):
        raise JobInputError(f"{name!r} is not a zip or a contract table file (TABLE.csv, TABLE.parquet, "
                            "dataset.json)", problems=[f"{name}: not a zip or a contract table file"])
    dest.mkdir(parents=True, exist_ok=True)
    target = dest / base
    if target.exists():
        raise JobInputError(f"{base} was uploaded twice", problems=[f"{base}: uploaded twice"])
    digest = hashlib.sha256()
    written = 0
    with target.open("wb") as out:
        while block := source.read(_COPY_BLOCK):
            written += len(block)
            if written > max_bytes:
                out.close()
                target.unlink()
                raise JobInputError(f"{base} is larger than {max_bytes:,} bytes",
                                    problems=[f"{base}: larger than {max_bytes:,} bytes"])
            digest.update(block)
            out.write(block)
    return StoredFile(base, written, digest.hexdigest())


def extract_zip(archive: Path, dest: Path, *, max_bytes: int, max_files: int) -> list[str]:
    """Extract the contract tables of a zip into ``dest`` after checking every entry; return the names written.

    Raises
    ------
    JobInputError
        If the file is not a zip, or any entry is unsafe (nothing is written then), or the expanded size goes over
        ``max_bytes`` while writing (what was written is removed).
    """
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as exc:
        raise JobInputError(f"{archive.name} is not a readable zip file: {exc}",
                            problems=[f"{archive.name}: not a readable zip file"]) from None
    with zf:
        plan = _plan(zf, archive.name, max_bytes=max_bytes, max_files=max_files)
        dest.mkdir(parents=True, exist_ok=True)
        total = 0
        try:
            for info, name in plan:
                with zf.open(info) as source, (dest / name).open("xb") as out:
                    while block := source.read(_COPY_BLOCK):
                        total += len(block)
                        if total > max_bytes:  # declared sizes can lie: count what is really written
                            raise JobInputError(
                                f"{archive.name} expands to more than {max_bytes:,} bytes",
                                problems=[f"{archive.name}: expands to more than {max_bytes:,} bytes"])
                        out.write(block)
        except (zipfile.BadZipFile, OSError, RuntimeError, EOFError) as exc:  # corrupt data, CRC errors
            _clear(dest, [n for _, n in plan])
            raise JobInputError(f"{archive.name} cannot be read: {exc}",
                                problems=[f"{archive.name}: cannot be read ({exc})"]) from None
        except JobInputError:
            _clear(dest, [n for _, n in plan])
            raise
    return [name for _, name in plan]


def _clear(dest: Path, names: Sequence[str]) -> None:
    for name in names:
        (dest / name).unlink(missing_ok=True)


def _plan(zf: zipfile.ZipFile, label: str, *, max_bytes: int, max_files: int) -> list[tuple[zipfile.ZipInfo, str]]:
    """Check every entry; return the (entry, file name) pairs to extract."""
    problems: list[str] = []
    entries: list[tuple[zipfile.ZipInfo, PurePosixPath]] = []
    for info in zf.infolist():
        raw = info.filename
        if _CLUTTER.search(raw):
            continue
        path = PurePosixPath(raw.replace("\\", "/"))
        mode = info.external_attr >> 16
        if raw.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", raw) or path.is_absolute():
            problems.append(f"{raw}: absolute path")
        elif ".." in path.parts:
            problems.append(f"{raw}: a path that leaves the folder ('..')")
        elif stat.S_ISLNK(mode):
            problems.append(f"{raw}: a symbolic link")
        elif info.flag_bits & 0x1:
            problems.append(f"{raw}: encrypted")
        elif info.is_dir():
            continue
        elif stat.S_IFMT(mode) not in (0, stat.S_IFREG):  # no type bits (zips from Windows, writestr): a file
            problems.append(f"{raw}: not a regular file")
        else:
            entries.append((info, path))
    if len(entries) > max_files:
        problems.append(f"{len(entries)} files: more than the {max_files} allowed")
    declared = sum(info.file_size for info, _ in entries)
    if declared > max_bytes:
        problems.append(f"expands to {declared:,} bytes: more than the {max_bytes:,} allowed")
    # Tables at the top, or all inside one top folder (a zipped folder).
    tops = {p.parts[0] for _, p in entries if len(p.parts) > 1}
    strip = 1 if len(tops) == 1 and all(len(p.parts) > 1 for _, p in entries) else 0
    plan: list[tuple[zipfile.ZipInfo, str]] = []
    seen: set[str] = set()
    for info, path in entries:
        parts = path.parts[strip:]
        if len(parts) != 1:
            problems.append(f"{info.filename}: tables must be at the top of the zip (or of its one folder)")
            continue
        name = parts[0]
        if not _is_table_name(name):
            problems.append(f"{info.filename}: not a contract table file (TABLE.csv, TABLE.parquet, dataset.json)")
        elif name in seen:
            problems.append(f"{info.filename}: {name} is in the zip twice")
        else:
            seen.add(name)
            plan.append((info, name))
    if problems:
        raise JobInputError(f"{label} was refused: {len(problems)} problem(s)", problems=problems)
    if not plan:
        raise JobInputError(f"{label} holds no contract table", problems=[f"{label}: no contract table in the zip"])
    return plan


def check_tables(folder: Path) -> None:
    """Fail fast when tables scoring needs are missing from ``folder`` (their content is validated by the worker).

    Raises
    ------
    JobInputError
        Naming every missing table.
    """
    present = {p.stem for p in folder.iterdir() if p.is_file() and p.suffix.lower() in (".csv", ".parquet")}
    missing = [name for name, spec in TABLES.items() if spec.required and "score" in spec.required_for
               and name not in present]
    if missing:
        raise JobInputError(f"required table(s) missing: {', '.join(missing)}",
                            problems=[f"required table missing: expected {n}.csv or {n}.parquet" for n in missing])


def check_folder(path: str, roots: Sequence[Path]) -> Path:
    """Return the resolved folder ``path`` if it is inside one of ``roots`` (links resolved first).

    Raises
    ------
    JobInputError
        If no root is configured, the folder is outside every root, or it is not a folder.
    """
    if not roots:
        raise JobInputError("this service takes no server folders: upload the tables instead",
                            problems=["server folders are not enabled (allowed_roots)"])
    resolved = Path(path).resolve()
    if not any(resolved.is_relative_to(root) for root in roots):
        raise JobInputError(f"{path} is not under an allowed folder",
                            problems=[f"{path}: not under an allowed folder"])
    if not resolved.is_dir():
        raise JobInputError(f"{path} is not a folder", problems=[f"{path}: not a folder"])
    return resolved


def remove_tree(path: Path) -> None:
    """Remove a job's folder, ignoring one already gone."""
    shutil.rmtree(path, ignore_errors=True)
