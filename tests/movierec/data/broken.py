"""Damaged and hostile MovieLens-1M archives built from the synthetic data, for the archive and CLI tests."""

from __future__ import annotations

import stat
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path

from tests.synthetic import synthetic_files, write_archive

MEMBER = "ml-1m/ratings.dat"


def small_files() -> dict[str, bytes]:
    return synthetic_files(n_users=30, n_movies=24)


def _data_offset(path: Path, name: str) -> tuple[int, int]:
    """(offset of the member's compressed bytes in the file, their length)."""
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo(name)
    raw = path.read_bytes()
    name_len = int.from_bytes(raw[info.header_offset + 26 : info.header_offset + 28], "little")
    extra_len = int.from_bytes(raw[info.header_offset + 28 : info.header_offset + 30], "little")
    return info.header_offset + 30 + name_len + extra_len, info.compress_size


def flipped_byte(path: Path, where: str = "start", compression: int = zipfile.ZIP_DEFLATED) -> Path:
    """One byte of ratings.dat's compressed data inverted: a CRC mismatch or a broken deflate stream."""
    with zipfile.ZipFile(path, "w", compression) as archive:
        for name, content in small_files().items():
            archive.writestr(f"ml-1m/{name}", content)
    start, size = _data_offset(path, MEMBER)
    offset = {"start": start + 5, "middle": start + size // 2, "end": start + size - 3}[where]
    raw = bytearray(path.read_bytes())
    raw[offset] ^= 0xFF
    path.write_bytes(bytes(raw))
    return path


def truncated(path: Path) -> Path:
    whole = write_archive(path, small_files()).read_bytes()
    path.write_bytes(whole[: len(whole) // 2])
    return path


def hole_in_the_middle(path: Path) -> Path:
    """40 bytes cut from the middle: the end record survives but every offset after the hole is wrong."""
    whole = write_archive(path, small_files()).read_bytes()
    path.write_bytes(whole[: len(whole) // 3] + whole[len(whole) // 3 + 40 :])
    return path


def not_a_zip(path: Path) -> Path:
    path.write_text("1::1193::5::978300760\n")
    return path


def _with_extra_member(path: Path, info: zipfile.ZipInfo, content: bytes, replace: bool = False) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in small_files().items():
            if not (replace and f"ml-1m/{name}" == info.filename):
                archive.writestr(f"ml-1m/{name}", data)
        archive.writestr(info, content)
    return path


def symlink_member(path: Path) -> Path:
    """ratings.dat stored as a symbolic link to /etc/passwd."""
    info = zipfile.ZipInfo(MEMBER)
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return _with_extra_member(path, info, b"/etc/passwd", replace=True)


def escaping_member(path: Path) -> Path:
    return _with_extra_member(path, zipfile.ZipInfo("ml-1m/../../escaped.txt"), b"outside the target")


def absolute_member(path: Path) -> Path:
    return _with_extra_member(path, zipfile.ZipInfo("/tmp/absolute.txt"), b"outside the target")


def duplicate_member(path: Path) -> Path:
    """A second ml-1m/ratings.dat after the first: which one a reader sees depends on the reader."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # zipfile warns "Duplicate name", which is the point here
        return _with_extra_member(path, zipfile.ZipInfo(MEMBER), b"1::1::7::956700000\n")


def zip_bomb(path: Path, expanded_bytes: int) -> Path:
    """ratings.dat expands to expanded_bytes of zeros (a few hundred KB compressed per 100 MB)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in small_files().items():
            if name != "ratings.dat":
                archive.writestr(f"ml-1m/{name}", data)
        with archive.open(MEMBER, "w", force_zip64=True) as dst:
            block = b"\0" * (1 << 20)
            for _ in range(expanded_bytes // len(block) + 1):
                dst.write(block)
    return path


def _recoded(path: Path, name: str, transform: Callable[[bytes], bytes]) -> Path:
    files = small_files()
    files[name] = transform(files[name])
    return write_archive(path, files)


def utf16_ratings(path: Path) -> Path:
    return _recoded(path, "ratings.dat", lambda data: data.decode("ascii").encode("utf-16"))


def nul_in_users(path: Path) -> Path:
    return _recoded(path, "users.dat", lambda data: data.replace(b"\n", b"\n\0", 1))


def utf8_movies(path: Path) -> Path:
    return _recoded(path, "movies.dat", lambda data: data.decode("latin-1").encode("utf-8"))


def control_in_movies(path: Path) -> Path:
    """A C1 control byte (0x85, which str.splitlines treats as a line break) inside a title."""
    return _recoded(path, "movies.dat", lambda data: data.replace(b"Movie 2 ", b"Movie\x852 ", 1))


def empty_ratings(path: Path) -> Path:
    return _recoded(path, "ratings.dat", lambda data: b"")


def rating_seven(path: Path) -> Path:
    """A well-formed zip whose ratings.dat holds a rating of 7 (valid archive, invalid data)."""
    return _recoded(path, "ratings.dat", lambda data: data.replace(b"\n", b"\n2::3::7::956700000\n", 1))
