"""Obtain a dataset's zip: download the official one (md5-checked) or accept a local copy, and extract it safely.

Dataset-agnostic: each adapter (movierec/datasets/) passes its layout (folder, members, size limit), URL and md5.
"""

from __future__ import annotations

import json
import lzma
import os
import stat
import zipfile
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import requests
from tqdm import tqdm

from movierec.errors import DataFormatError, DownloadError
from movierec.fsutil import atomic_directory, file_digest

SOURCE_MARKER = ".source.json"
# What reading a damaged member raises: CRC mismatch, bad deflate/bz2/lzma stream, truncation, unsupported method.
_READ_ERRORS = (zipfile.BadZipFile, zlib.error, lzma.LZMAError, EOFError, OSError, NotImplementedError, RuntimeError)


@dataclass(frozen=True)
class ArchiveLayout:
    """What one dataset's zip holds: its folder, the members it must have, what extraction copies, a size limit."""

    folder: str  # the folder inside the zip, and the extracted folder under raw/
    members: tuple[str, ...]  # required members
    # members extraction copies (the required ones and optional ones such as README); any other is only checked
    extracted: tuple[str, ...]
    label: str  # the dataset's name in messages
    max_bytes: int  # most uncompressed bytes of the extracted members together: past it, damage or a zip bomb
    size_note: str  # the real size, in words, for the error when max_bytes is exceeded

    @property
    def zip_name(self) -> str:
        return f"{self.folder}.zip"


def _member_name(name: str, layout: ArchiveLayout) -> str:
    return name.removeprefix(f"{layout.folder}/")


def _shown(name: str) -> str:
    """A member name as an error shows it: as is when plain, else quoted and cut (it comes from the archive)."""
    return name if name.isprintable() and len(name) <= 200 else repr(name[:200])


def _check_member_info(zip_path: Path, info: zipfile.ZipInfo, layout: ArchiveLayout) -> None:
    """Refuse a member that could write outside the target folder, is not a plain file, or is encrypted."""
    parts = PurePosixPath(info.filename.replace("\\", "/")).parts
    if info.filename.startswith(("/", "\\")) or ".." in parts or (parts and ":" in parts[0]):
        raise DataFormatError(
            f"{zip_path}: member {info.filename[:200]!r} has an unsafe path; members must stay inside {layout.folder}/"
        )
    file_type = stat.S_IFMT(info.external_attr >> 16)  # Unix file type; 0 when the archiver recorded none
    if file_type not in (0, stat.S_IFREG, stat.S_IFDIR):
        kind = "a symbolic link" if file_type == stat.S_IFLNK else "not a regular file"
        raise DataFormatError(f"{zip_path}: member {_shown(info.filename)} is {kind}; only regular files are allowed")
    if info.flag_bits & 0x1:
        raise DataFormatError(
            f"{zip_path}: member {_shown(info.filename)} is encrypted; the {layout.label} archive is not"
        )


def _open_zip(zip_path: Path, max_bytes: int | None, layout: ArchiveLayout) -> zipfile.ZipFile:
    """Open a zip after checking every member's path and kind, the required members and their declared sizes."""
    max_bytes = layout.max_bytes if max_bytes is None else max_bytes
    if not zip_path.is_file():
        raise DataFormatError(f"{zip_path}: no such file; give the path of a {layout.label} zip archive")
    if not zipfile.is_zipfile(zip_path):
        raise DataFormatError(
            f"{zip_path}: not a zip archive, or a truncated one (expected the {layout.label} {layout.zip_name})"
        )
    try:
        archive = zipfile.ZipFile(zip_path)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise DataFormatError(f"{zip_path}: damaged zip archive ({exc}); download {layout.zip_name} again") from exc
    try:
        infos = archive.infolist()
        for info in infos:
            _check_member_info(zip_path, info, layout)
        counts = Counter(info.filename for info in infos)
        names = set(counts)
        if len(names) < len(infos):
            twice = next(name for name, count in counts.items() if count > 1)
            raise DataFormatError(f"{zip_path}: member {_shown(twice)} appears twice; each member must appear once")
        missing = [f"{layout.folder}/{m}" for m in layout.members if f"{layout.folder}/{m}" not in names]
        if missing:
            raise DataFormatError(
                f"{zip_path}: missing {', '.join(missing)}; a {layout.label} archive holds "
                f"{', '.join(f'{layout.folder}/{m}' for m in layout.members)}"
            )
        declared = sum(info.file_size for info in infos if _member_name(info.filename, layout) in layout.extracted)
        if declared > max_bytes:
            raise DataFormatError(
                f"{zip_path}: members {', '.join(layout.extracted)} declare {declared:,} bytes uncompressed; "
                f"at most {max_bytes:,} are allowed ({layout.label} is {layout.size_note})"
            )
    except BaseException:
        archive.close()
        raise
    return archive


def _read_member(zip_path: Path, archive: zipfile.ZipFile, name: str, layout: ArchiveLayout) -> Iterator[bytes]:
    """Yield a member's bytes in chunks; a CRC or decompression error becomes one DataFormatError line.

    zipfile stops at the member's declared size (a member that would expand further fails its CRC), so the
    declared-size check in _open_zip bounds what this yields.
    """
    try:
        with archive.open(name) as src:
            while block := src.read(1 << 20):
                yield block
    except _READ_ERRORS as exc:
        kind = (
            type(exc).__name__ if type(exc).__module__ == "builtins" else f"{type(exc).__module__}.{type(exc).__name__}"
        )
        raise DataFormatError(
            f"{zip_path}: member {name} is corrupt ({kind}: {exc}); "
            f"the archive is truncated or damaged, download {layout.zip_name} again"
        ) from exc


def check_archive_format(zip_path: Path, layout: ArchiveLayout, max_bytes: int | None = None) -> None:
    """Raise DataFormatError unless zip_path is a sound zip holding the layout's members.

    Sound: every member path stays inside the folder and is a plain file, the members extraction copies are at
    most max_bytes (default: the layout's) uncompressed together, and each of them decompresses with a matching CRC.
    """
    with _open_zip(zip_path, max_bytes, layout) as archive:
        for name in _present_members(archive, layout):
            for _ in _read_member(zip_path, archive, name, layout):
                pass


def _present_members(archive: zipfile.ZipFile, layout: ArchiveLayout) -> list[str]:
    names = set(archive.namelist())
    return [f"{layout.folder}/{m}" for m in layout.extracted if f"{layout.folder}/{m}" in names]


def download_official(dest: Path, url: str, md5: str, hint: str, timeout: float = 30.0) -> Path:
    """Download the official archive at url to dest with a progress bar; verify md5; never leave a partial file.

    hint: the `make train` arguments that pass a local copy instead, for the error when the download fails.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    if dest.is_file() and file_digest(dest, "md5") == md5:
        return dest
    partial = dest.with_suffix(dest.suffix + ".part")
    try:
        with requests.get(url, stream=True, timeout=timeout) as response:
            response.raise_for_status()
            total = int(response.headers.get("content-length", 0)) or None
            with open(partial, "wb") as handle, tqdm(total=total, unit="B", unit_scale=True, desc=dest.name) as bar:
                for block in response.iter_content(chunk_size=1 << 16):
                    handle.write(block)
                    bar.update(len(block))
    except requests.RequestException as exc:
        partial.unlink(missing_ok=True)
        raise DownloadError(
            f"could not download {url} ({exc.__class__.__name__}: {exc}). Offline? "
            f"Pass a local archive instead: make train {hint}"
        ) from exc
    actual = file_digest(partial, "md5")
    if actual != md5:
        partial.unlink(missing_ok=True)
        raise DownloadError(f"{url}: md5 {actual} does not match the official {md5}; the partial file was deleted")
    os.replace(partial, dest)
    return dest


def obtain_archive(
    raw_dir: Path,
    local_zip: str | os.PathLike | None,
    layout: ArchiveLayout,
    download: Callable[[Path], Path],
) -> Path:
    """Return a verified archive path: the local one after a format check, or the official download.

    download(dest) fetches the dataset's official archive to dest (its adapter's URL and md5).
    """
    if local_zip:
        path = Path(local_zip).expanduser().resolve()
        check_archive_format(path, layout)
        return path
    path = download(raw_dir / layout.zip_name)
    check_archive_format(path, layout)
    return path


def extract_archive(
    zip_path: Path,
    raw_dir: Path,
    layout: ArchiveLayout,
    validate: Callable[[Path], object] | None = None,
    max_bytes: int | None = None,
) -> Path:
    """Extract the data files to raw_dir/<folder>; skip (no validate call) when that archive is already extracted.

    The files go to a staging folder first; `validate(staging)` (if given) runs there, and only when it returns
    does the staging folder replace raw_dir/<folder>, so a bad archive never replaces a good extraction.
    """
    target = raw_dir / layout.folder
    with _open_zip(zip_path, max_bytes, layout) as archive:
        sha256 = file_digest(zip_path)
        if _recorded_sha256(target) == sha256:
            return target
        _extract_validated(zip_path, archive, sha256, target, validate, layout)
    return target


def _extract_validated(
    zip_path: Path,
    archive: zipfile.ZipFile,
    sha256: str,
    target: Path,
    validate: Callable[[Path], object] | None,
    layout: ArchiveLayout,
) -> None:
    """Write the members and the source record to a staging folder, validate there, then swap it into target."""
    with atomic_directory(target) as staging:
        for name in _present_members(archive, layout):
            with open(staging / _member_name(name, layout), "wb") as dst:
                for block in _read_member(zip_path, archive, name, layout):
                    dst.write(block)
        (staging / SOURCE_MARKER).write_text(json.dumps({"archive": str(zip_path), "sha256": sha256}))
        if validate is not None:
            validate(staging)


def _recorded_sha256(extracted: Path) -> str | None:
    try:
        sha256 = json.loads((extracted / SOURCE_MARKER).read_text()).get("sha256")
    except (OSError, ValueError, AttributeError):
        return None
    return sha256 if isinstance(sha256, str) and len(sha256) == 64 else None


def archive_sha256(extracted: Path) -> str:
    """sha256 of the archive an extracted folder came from (recorded at extraction)."""
    sha256 = _recorded_sha256(extracted)
    if sha256 is None:
        raise DataFormatError(
            f"{extracted / SOURCE_MARKER}: missing or unreadable extraction record; run `make data` again"
        )
    return sha256
