#!/usr/bin/env python3
"""Reference pixels for libs/data's conformance test, computed by other people's decoders.

`reference_pixels.py --where` prints the folder of pydicom's test files. Otherwise it reads a JSON
list of {"path": ..., "kind": "dicom" | "raster"} on stdin and writes, into the folder given as
the only argument, one float32 file per decoded image (row-major, HWC, values in
[0, 1]) and manifest.json: [{"path", "kind", "ok", "width", "height", "channels", "bits",
"file", "note"} | {"path", "kind", "ok": false, "error"}].

DICOM: pydicom's pixel_array (its handlers: numpy, gdcm for compressed data, RLE), first frame,
then the transforms docs/DATA.md promises for fedxray, computed here in float64:
  gray:   Rescale Slope/Intercept -> the first Window Center/Width (PS3.3 C.11.2.1.2.1, output
          [0, 1]) or, without one, the frame's min..max -> MONOCHROME1 inverted -> clipped.
  colour: YBR_FULL / YBR_FULL_422 still in YBR converted by pydicom's convert_color_space, then
          divided by 2^BitsStored - 1.
Rasters: Pillow, EXIF orientation applied (ImageOps.exif_transpose); alpha dropped (the stored
colour is kept); 16-bit gray as value / 65535, everything else as 8-bit L or RGB / 255.

Run with Debian's python3 (python3-pydicom, python3-gdcm, python3-numpy, python3-pil).
"""
import json
import os
import re
import sys
import warnings

import numpy as np

warnings.simplefilter("ignore")


def first(value):
    """The first value of a possibly multi-valued element, as a float, or None."""
    if value is None or value == "":
        return None
    try:
        return float(value[0] if hasattr(value, "__len__") and not isinstance(value, str) else value)
    except (TypeError, ValueError, IndexError):
        return None


JPEG_TS = ("1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.51")


def jpeg_is_ycbcr(frame, photometric):
    """Whether a 3-component JPEG holds YCbCr, by libjpeg's rule (JFIF, else Adobe's transform
    flag, else component ids "RGB"), where DICOM's Photometric Interpretation decides only when
    none of those markers speaks (PS3.5 8.2.1: RGB means the components were not transformed)."""
    jfif = adobe = None
    ids = []
    p = 2
    while p + 4 <= len(frame) and frame[p] == 0xFF:
        m, n = frame[p + 1], (frame[p + 2] << 8) | frame[p + 3]
        body = frame[p + 4 : p + 2 + n]
        # libjpeg's thresholds: a JFIF segment of at least 14 bytes, an Adobe one of at least 12.
        if m == 0xE0 and len(body) >= 14 and body[:5] == b"JFIF\0":
            jfif = True
        if m == 0xEE and len(body) >= 12 and body[:5] == b"Adobe":
            adobe = body[11]
        if 0xC0 <= m <= 0xCF and m not in (0xC4, 0xC8, 0xCC):
            ids = [body[6 + 3 * k] for k in range(body[5])]
        if m == 0xDA:
            break
        p += 2 + n
    if jfif:
        return True
    if adobe is not None:
        return adobe == 1
    if ids == [0x52, 0x47, 0x42]:
        return False
    return photometric != "RGB"


def libjpeg_ycc_to_rgb(a):
    """YCbCr to RGB exactly as libjpeg's jdcolor.c does it (16-bit fixed point, tables)."""
    fix = lambda x: int(x * 65536 + 0.5)  # noqa: E731
    half = 1 << 15
    y = a[..., 0].astype(np.int64)
    cb = a[..., 1].astype(np.int64) - 128
    cr = a[..., 2].astype(np.int64) - 128
    r = y + ((fix(1.40200) * cr + half) >> 16)
    g = y + ((-fix(0.34414) * cb + half - fix(0.71414) * cr) >> 16)
    b = y + ((fix(1.77200) * cb + half) >> 16)
    return np.clip(np.stack([r, g, b], axis=-1), 0, 255)


def first_fragment_frame(ds):
    from pydicom.encaps import generate_pixel_data_frame

    return next(generate_pixel_data_frame(ds.PixelData, int(first(ds.get("NumberOfFrames")) or 1)))


def dicom_reference(path):
    import pydicom
    from pydicom.pixel_data_handlers.util import convert_color_space

    ds = pydicom.dcmread(path, force=True)
    if "PixelData" not in ds:
        raise ValueError("no Pixel Data")
    note = ""
    if "NumberOfFrames" in ds and not re.fullmatch(r"\s*\d+\s*", str(ds["NumberOfFrames"].value)):
        # An invalid IS such as "1A": read its leading digits, as fedxray does.
        raw = str(ds["NumberOfFrames"].value)
        ds.NumberOfFrames = int(re.match(r"\s*(\d*)", raw).group(1) or 1)
        note = f"Number of Frames {raw!r} read as {ds.NumberOfFrames}, "
    ts = str(ds.file_meta.TransferSyntaxUID) if "TransferSyntaxUID" in getattr(ds, "file_meta", {}) else ""
    photometric = str(ds.get("PhotometricInterpretation", "")).strip().upper()
    arr = ds.pixel_array
    frames = int(first(ds.get("NumberOfFrames")) or 1)
    spp = int(ds.get("SamplesPerPixel", 1))
    if frames > 1:
        arr = arr[0]
    if spp == 3:
        native = ts in ("1.2.840.10008.1.2", "1.2.840.10008.1.2.1", "1.2.840.10008.1.2.2", "1.2.840.10008.1.2.1.99", "1.2.840.10008.1.2.5")
        # Native and RLE data stay YBR in pydicom; JPEG 2000's colour transforms are undone.
        if native and photometric in ("YBR_FULL", "YBR_FULL_422"):
            arr = convert_color_space(arr, photometric, "RGB")
        # gdcm hands JPEG samples back in the codestream's own colour space.
        if ts in JPEG_TS and jpeg_is_ycbcr(first_fragment_frame(ds), photometric):
            arr = libjpeg_ycc_to_rgb(arr)
        bits = min(int(ds.BitsStored), int(ds.BitsAllocated))
        out = arr.astype(np.float64) / (2.0**bits - 1)
        return np.clip(out, 0, 1), note + "RGB"
    x = arr.astype(np.float64)
    slope = first(ds.get("RescaleSlope"))
    intercept = first(ds.get("RescaleIntercept"))
    x = x * (1.0 if slope is None else slope) + (0.0 if intercept is None else intercept)
    center = first(ds.get("WindowCenter"))
    width = first(ds.get("WindowWidth"))
    if center is not None and width is not None and np.isfinite(center) and np.isfinite(width) and width >= 1:
        c = center - 0.5
        w = width - 1
        if w == 0:
            y = np.where(x <= c, 0.0, 1.0)
        else:
            y = np.where(x <= c - w / 2, 0.0, np.where(x > c + w / 2, 1.0, (x - c) / w + 0.5))
        note += f"window {center:g}/{width:g}"
    else:
        lo, hi = x.min(), x.max()
        y = (x - lo) / (hi - lo) if hi > lo else np.zeros_like(x)
        note += "min..max"
    if photometric == "MONOCHROME1":
        y = 1 - y
        note += ", MONOCHROME1 inverted"
    return np.clip(y, 0, 1)[..., None], note


def raster_reference(path):
    from PIL import Image, ImageOps

    im = Image.open(path)
    im.load()
    im = ImageOps.exif_transpose(im)
    mode = im.mode
    if mode in ("I;16", "I;16B", "I;16L", "I"):
        a = np.asarray(im, dtype=np.float64) / 65535.0
        return a[..., None], f"{mode} / 65535", 16
    if mode in ("1", "L", "LA", "La") or (mode == "P" and im.palette is not None and im.palette.mode == "L"):
        return np.asarray(im.convert("L"), dtype=np.float64)[..., None] / 255.0, f"{mode} as L / 255", 8
    # Pillow keeps 8 bits of 16-bit colour (the most significant ones).
    return np.asarray(im.convert("RGB"), dtype=np.float64) / 255.0, f"{mode} as RGB / 255", 8


def main():
    if sys.argv[1:] == ["--where"]:
        # Where this machine's pydicom keeps its test files (Debian: python3-pydicom).
        import pydicom.data

        print(os.path.join(os.path.dirname(pydicom.data.__file__), "test_files"))
        return
    out_dir = sys.argv[1]
    os.makedirs(out_dir, exist_ok=True)
    manifest = []
    for i, entry in enumerate(json.load(sys.stdin)):
        path, kind = entry["path"], entry["kind"]
        try:
            img, note, bits = (*dicom_reference(path), 32) if kind == "dicom" else raster_reference(path)
        except Exception as err:  # noqa: BLE001 - every failure is data for the test
            manifest.append({"path": path, "kind": kind, "ok": False, "error": f"{type(err).__name__}: {err}".splitlines()[0]})
            continue
        name = f"{i}.f32"
        np.ascontiguousarray(img, dtype="<f4").tofile(os.path.join(out_dir, name))
        h, w, c = img.shape
        manifest.append({"path": path, "kind": kind, "ok": True, "width": w, "height": h, "channels": c, "bits": bits, "file": name, "note": note})
    with open(os.path.join(out_dir, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)


if __name__ == "__main__":
    main()
