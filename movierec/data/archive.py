"""Obtain the MovieLens-1M archive: download the official one (md5-checked) or accept a local copy."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import zipfile
from pathlib import Path

import requests
from tqdm import tqdm

from movierec.config import OFFICIAL_MD5, OFFICIAL_URL
from movierec.errors import DataFormatError, DownloadError
from movierec.fsutil import atomic_directory

MEMBERS = ("ratings.dat", "users.dat", "movies.dat")
ARCHIVE_DIR = "ml-1m"
SOURCE_MARKER = ".source.json"


def file_digest(path: Path, algorithm: str = "sha256", chunk: int = 1 << 20) -> str:
    """Hex digest of a file, read in chunks."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def check_archive_format(zip_path: Path) -> None:
    """Raise DataFormatError unless zip_path is a readable zip holding ml-1m/{ratings,users,movies}.dat."""
    if not zip_path.is_file():
        raise DataFormatError(f"{zip_path}: no such file; give the path of a MovieLens-1M zip archive")
    if not zipfile.is_zipfile(zip_path):
        raise DataFormatError(f"{zip_path}: not a zip archive (expected the MovieLens-1M ml-1m.zip)")
    with zipfile.ZipFile(zip_path) as archive:
        names = set(archive.namelist())
        missing = [f"{ARCHIVE_DIR}/{m}" for m in MEMBERS if f"{ARCHIVE_DIR}/{m}" not in names]
        if missing:
            raise DataFormatError(
                f"{zip_path}: missing {', '.join(missing)}; a MovieLens-1M archive holds "
                f"{', '.join(f'{ARCHIVE_DIR}/{m}' for m in MEMBERS)}"
            )
        bad = archive.testzip()
        if bad is not None:
            raise DataFormatError(
                f"{zip_path}: member {bad} is corrupt (CRC mismatch); the archive is truncated or damaged"
            )


def download_official(dest: Path, url: str = OFFICIAL_URL, md5: str = OFFICIAL_MD5, timeout: float = 30.0) -> Path:
    """Download the official archive to dest with a progress bar; verify md5; never leave a partial file."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    if dest.is_file() and file_digest(dest, "md5") == md5:
        return dest
    partial = dest.with_suffix(dest.suffix + ".part")
    try:
        with requests.get(url, stream=True, timeout=timeout) as response:
            response.raise_for_status()
            total = int(response.headers.get("content-length", 0)) or None
            with open(partial, "wb") as handle, tqdm(total=total, unit="B", unit_scale=True, desc="ml-1m.zip") as bar:
                for block in response.iter_content(chunk_size=1 << 16):
                    handle.write(block)
                    bar.update(len(block))
    except requests.RequestException as exc:
        partial.unlink(missing_ok=True)
        raise DownloadError(
            f"could not download {url} ({exc.__class__.__name__}: {exc}). Offline? "
            "Pass a local archive instead: make train ML1M_ZIP=/path/to/ml-1m.zip"
        ) from exc
    actual = file_digest(partial, "md5")
    if actual != md5:
        partial.unlink(missing_ok=True)
        raise DownloadError(f"{url}: md5 {actual} does not match the official {md5}; the partial file was deleted")
    os.replace(partial, dest)
    return dest


def obtain_archive(raw_dir: Path, local_zip: str | os.PathLike | None = None) -> Path:
    """Return a verified archive path: the local one after a format check, or the official download."""
    if local_zip:
        path = Path(local_zip).expanduser().resolve()
        check_archive_format(path)
        return path
    path = download_official(raw_dir / "ml-1m.zip")
    check_archive_format(path)
    return path


def extract_archive(zip_path: Path, raw_dir: Path) -> Path:
    """Extract the three .dat files to raw_dir/ml-1m atomically; skip when that archive is already extracted."""
    target = raw_dir / ARCHIVE_DIR
    sha256 = file_digest(zip_path)
    marker = target / SOURCE_MARKER
    if marker.is_file() and json.loads(marker.read_text()).get("sha256") == sha256:
        return target
    with atomic_directory(target) as staging, zipfile.ZipFile(zip_path) as archive:
        for member in (*MEMBERS, "README"):
            name = f"{ARCHIVE_DIR}/{member}"
            if name in archive.namelist():
                with archive.open(name) as src, open(staging / member, "wb") as dst:
                    shutil.copyfileobj(src, dst)
        (staging / SOURCE_MARKER).write_text(json.dumps({"archive": str(zip_path), "sha256": sha256}))
    return target


def archive_sha256(raw_ml1m_dir: Path) -> str:
    """sha256 of the archive an extracted folder came from (recorded at extraction)."""
    return json.loads((raw_ml1m_dir / SOURCE_MARKER).read_text())["sha256"]
