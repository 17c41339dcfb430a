"""Test inputs drawn with Pillow (and a few crafted byte strings), never stored files."""

import io
import struct
import zlib

from PIL import Image, ImageCms, ImageDraw

GPS_IFD = 0x8825
ORIENTATION = 0x0112
MAKE = 0x010F
XMP = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-'
    b'syntax-ns#"><rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/" '
    b'dc:creator="Secret Photographer"/></rdf:RDF></x:xmpmeta>'
)


def photo(size=(400, 300), mode="RGB") -> Image.Image:
    """A small photo-like picture: a gradient, noise, a shape."""
    width, height = size
    gradient = Image.linear_gradient("L").resize(size)
    noise = Image.effect_noise(size, 40)
    picture = Image.merge(
        "RGB", (gradient, noise, gradient.transpose(Image.Transpose.FLIP_LEFT_RIGHT))
    )
    ImageDraw.Draw(picture).ellipse(
        (width // 4, height // 4, width // 2, height // 2), fill=(200, 30, 40)
    )
    return picture.convert(mode) if mode != "RGB" else picture


def encode(picture: Image.Image, image_format: str = "JPEG", **params) -> bytes:
    out = io.BytesIO()
    picture.save(out, image_format, **params)
    return out.getvalue()


def jpeg(size=(400, 300), **params) -> bytes:
    return encode(photo(size), "JPEG", **params)


def exif_with_gps(*, orientation: int = 1) -> Image.Exif:
    exif = Image.Exif()
    exif[MAKE] = "SecretCam"
    exif[ORIENTATION] = orientation
    gps = exif.get_ifd(GPS_IFD)
    gps[1] = "N"
    gps[2] = (48.0, 51.0, 24.0)
    gps[3] = "E"
    gps[4] = (2.0, 21.0, 7.0)
    return exif


def srgb_icc() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def jpeg_with_everything(size=(400, 300), *, orientation: int = 1) -> bytes:
    """EXIF (with GPS and orientation), an ICC profile, a comment and XMP."""
    return jpeg(
        size,
        exif=exif_with_gps(orientation=orientation),
        icc_profile=srgb_icc(),
        comment=b"shot at home, 12 rue Secrete",
        xmp=XMP,
    )


def cmyk_jpeg() -> bytes:
    return encode(photo().convert("CMYK"), "JPEG")


def png_16_bit() -> bytes:
    """Mode I;16, a horizontal ramp over the whole 16-bit range."""
    ramp = Image.linear_gradient("L").rotate(90).resize((256, 64))
    wide = ramp.convert("I").point(lambda value: value * 257)
    picture = wide.convert("I;16")
    return encode(picture, "PNG")


def palette_png_with_transparency() -> bytes:
    """Left half transparent (index 0), right half opaque red (index 1)."""
    picture = Image.new("P", (64, 32), 0)
    picture.putpalette([0, 0, 0, 255, 0, 0] + [0, 0, 0] * 254)
    ImageDraw.Draw(picture).rectangle((32, 0, 63, 31), fill=1)
    return encode(picture, "PNG", transparency=0)


def animated_webp() -> bytes:
    """Two frames: red, then blue."""
    red = Image.new("RGB", (64, 48), (255, 0, 0))
    blue = Image.new("RGB", (64, 48), (0, 0, 255))
    return encode(red, "WEBP", save_all=True, append_images=[blue], duration=100, loop=0)


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_header_claiming(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height pixels, with almost no data behind it."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + png_chunk(b"IEND", b"")
    )


def truncated_jpeg() -> bytes:
    data = jpeg((400, 300))
    return data[: len(data) // 2]


def jpeg_html_polyglot() -> bytes:
    """A JPEG that decodes fine, with a page hidden after its end."""
    return jpeg((200, 150)) + b"<html><body><script>alert(document.cookie)</script></body></html>"


SVG = (
    b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
    b"<script>alert(1)</script><rect width='10' height='10'/></svg>"
)
HTML = b"<!doctype html><html><body><img src=x onerror=alert(1)></body></html>"


def psd() -> bytes:
    """A minimal Photoshop header (3 channels, 8-bit RGB, 4 x 4) and raw image data."""
    header = b"8BPS" + struct.pack(">H6xHIIHH", 1, 3, 4, 4, 8, 3)
    sections = struct.pack(">I", 0) + struct.pack(">I", 0) + struct.pack(">I", 0)
    return header + sections + struct.pack(">H", 0) + b"\x80" * (3 * 4 * 4)


def tiff() -> bytes:
    return encode(photo((64, 48)), "TIFF")


def pdf() -> bytes:
    return encode(photo((64, 48)), "PDF")


def gif() -> bytes:
    return encode(photo((64, 48)).convert("P"), "GIF")
