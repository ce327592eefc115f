"""Which files of a landing folder a source takes, and which it skips and why.

Every file source (FHIR files, HL7 v2 files, notes, DICOM, CSV and Excel) finds its files
here, so they all obey the same rules:

* **Nothing outside the landing folder.** A file is taken where it is, inside the folder
  given (for a single file: the folder it is in). A symbolic link whose target lies
  elsewhere (``ln -s /etc/passwd inbox/passwd.ndjson``), or a linked folder leading out,
  is skipped and reported, not read: otherwise anyone who can write to a landing folder
  can make the lake (or its quarantine) copy any file the ingesting user can read. The
  setting ``ingest_follow_links_outside`` allows such links for a trusted layout. The same
  holds for the landing folder itself when it is a link out of the folder it is found in
  (an institution's folder of a landing zone linked to ``/``): name the real folder instead.
* **Names are matched without regard to case** (``B.NDJSON``, ``scan.HL7``), and a file
  the source does not take is reported with the reason, so a delivery of ``.jsonl`` files
  under a source that did not take them never looks like an empty delivery.
* Hidden files (``.DS_Store``, editors' ``.swp``) and the source's own companion files (a
  note's JSON sidecar) are passed over silently: they are not deliveries.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from medlake.errors import MissingInput

#: Says whether a file's lower-cased name is one the source takes.
NameTest = Callable[[str], bool]


@dataclass(frozen=True, slots=True)
class Skipped:
    """A file of the landing folder that was not read, and why (for the report)."""

    path: str
    reason: str


@dataclass
class Landing:
    """The files a source takes, in a stable order, and those it skipped."""

    files: list[Path] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)


def suffix_test(suffixes: tuple[str, ...]) -> NameTest:
    """A name test for files ending in one of ``suffixes`` (compared in lower case)."""
    lowered = tuple(s.lower() for s in suffixes)
    return lambda name: name.endswith(lowered)


def any_name(_name: str) -> bool:
    return True


def _inside(path: Path, root: Path) -> bool:
    return path == root or path.is_relative_to(root)


def scan(
    path: Path,
    takes: NameTest,
    *,
    expected: str,
    follow_links_outside: bool = False,
    companion: NameTest | None = None,
) -> Landing:
    """The files under ``path`` (or ``path`` itself) that ``takes`` accepts, with the skipped.

    ``expected`` describes the names taken (``".ndjson, .json …"``) for the skip reason.
    ``companion`` names files the source reads beside others (not reported when skipped).
    A file named explicitly is read whatever its name, but not if it is a link out of its folder.
    """
    path = Path(path)
    if path.is_file():
        root = path.parent.resolve()
        landing = Landing()
        reason = _outside(path, root, follow_links_outside)
        if reason:
            landing.skipped.append(Skipped(str(path), reason))
        else:
            landing.files.append(path)
        return landing
    if not path.is_dir():
        raise MissingInput(f"no such file or folder: {path}")
    if path.is_symlink():  # a landing folder that is itself a link out of where it is found
        reason = _outside(path, path.parent.resolve(), follow_links_outside)
        if reason:
            return Landing(skipped=[Skipped(str(path), reason.replace("a link to", "a linked folder to"))])
    return _walk(path, takes, expected, follow_links_outside, companion or (lambda _name: False))


def _outside(path: Path, root: Path, follow: bool) -> str | None:
    """Why ``path`` may not be read from the landing folder ``root`` (None: it may)."""
    if follow:
        return None
    target = path.resolve()
    if _inside(target, root):
        return None
    return (
        f"a link to {target}, outside the landing folder {root}: not read "
        "(setting ingest_follow_links_outside allows it)"
    )


def _walk(root: Path, takes: NameTest, expected: str, follow: bool, companion: NameTest) -> Landing:
    landing = Landing()
    real_root = root.resolve()
    seen_folders = {real_root}
    for folder, folders, names in os.walk(root, followlinks=True):
        here = Path(folder)
        kept = []
        for name in sorted(folders):
            sub = here / name
            if name.startswith("."):
                continue
            if not sub.is_symlink():
                kept.append(name)
                continue
            real = sub.resolve()
            reason = _outside(sub, real_root, follow)
            if reason:
                landing.skipped.append(Skipped(str(sub), reason.replace("a link to", "a linked folder to")))
            elif _inside(real, real_root) or real in seen_folders:
                continue  # a link within the folder (or a loop): its files are taken where they are
            else:
                seen_folders.add(real)
                kept.append(name)
        folders[:] = kept
        for name in sorted(names):
            file = here / name
            if name.startswith(".") or companion(name.lower()):
                continue
            if not file.is_file():  # a dangling link, a socket, a device
                landing.skipped.append(Skipped(str(file), "not a regular file (a dangling link?)"))
                continue
            reason = _outside(file, real_root, follow)
            if reason:
                landing.skipped.append(Skipped(str(file), reason))
            elif not takes(name.lower()):
                landing.skipped.append(Skipped(str(file), f"not a file name this source takes ({expected})"))
            else:
                landing.files.append(file)
    landing.files.sort()
    landing.skipped.sort(key=lambda s: s.path)
    return landing
