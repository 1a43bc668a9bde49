"""Survey photos: only real JPEG or PNG images, at most ``MAX_BYTES`` each
and ``MAX_PHOTOS`` a report. Every photo is decoded and re-encoded, which
drops all metadata (EXIF: GPS position, camera, time), and stored under its
SHA-256 in ``intranet.survey.photo_dir``, outside the web root; it is served
only through an authorized, logged view."""
from __future__ import annotations

import hashlib
import io
import os
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

MAX_BYTES = 8 * 1024 * 1024
MAX_PHOTOS = 5
MAX_PIXELS = 40_000_000
FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png"}


class PhotoError(ValueError):
    """A message key explaining why the upload was refused."""


@dataclass
class CleanPhoto:
    data: bytes
    content_type: str
    width: int
    height: int

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def clean(raw: bytes) -> CleanPhoto:
    """Validate and re-encode an upload; raises :class:`PhotoError`."""
    if len(raw) > MAX_BYTES:
        raise PhotoError("survey.error.photo_size")
    try:
        with Image.open(io.BytesIO(raw)) as probe:
            fmt = probe.format
            probe.verify()
        if fmt not in FORMATS:
            raise PhotoError("survey.error.photo_type")
        with Image.open(io.BytesIO(raw)) as img:
            if img.width * img.height > MAX_PIXELS:
                raise PhotoError("survey.error.photo_size")
            img = ImageOps.exif_transpose(img)  # keep the orientation, then drop the EXIF
            out = io.BytesIO()
            if fmt == "JPEG":
                img.convert("RGB").save(out, "JPEG", quality=88, optimize=True)
            else:
                img.save(out, "PNG", optimize=True)
            return CleanPhoto(out.getvalue(), FORMATS[fmt], img.width, img.height)
    except PhotoError:
        raise
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        raise PhotoError("survey.error.photo_type") from None


def store(directory: str, photo: CleanPhoto) -> str:
    """Write the photo under its hash (idempotent); returns the hash."""
    os.makedirs(directory, mode=0o700, exist_ok=True)
    path = os.path.join(directory, photo.sha256)
    if not os.path.exists(path):
        tmp = path + ".tmp"
        with open(tmp, "wb") as f:
            f.write(photo.data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    return photo.sha256


def load(directory: str, sha256: str) -> bytes:
    if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
        raise FileNotFoundError(sha256)
    with open(os.path.join(directory, sha256), "rb") as f:
        return f.read()
