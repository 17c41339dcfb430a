"""A deterministic corpus of photo-like images and their near-duplicates, drawn with Pillow.

The perceptual-hash bound is chosen on this corpus (tests/moderation/test_hashing.py), so
it has to look enough like photographs for the figures to mean something: a lit gradient
backdrop in a random direction, a horizon, overlapping soft shapes, a sign with text, then
blur and sensor-like noise. Every image comes from its own seed, so the corpus is the same
on every machine for a given Pillow and numpy.

The variants are the edits that re-uploads of a blocked image get in practice: a smaller
copy, a recompression, a small crop, a mirror, a brightness change and a caption burnt in.
"""

import io
import random
from collections.abc import Callable

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageFont, ImageOps

WIDTH, HEIGHT = 480, 360
ORIGINAL_SEEDS = range(1, 61)
# Disjoint from ORIGINAL_SEEDS: the images no original may match.
UNRELATED_SEEDS = range(10_001, 10_301)

# ASCII only: the font Pillow bundles has no accented glyphs.
WORDS = ("Marche", "Gare", "Hotel de Ville", "Cafe", "Stade", "Musee", "Route", "Plage")


def photo(seed: int, size: tuple[int, int] = (WIDTH, HEIGHT)) -> Image.Image:
    """A photo-like RGB image, the same for the same seed."""
    rnd = random.Random(seed)
    rng = np.random.default_rng(seed)
    w, h = size

    # Backdrop: two colours blended along a random direction, as light falls across a scene.
    angle = rnd.uniform(0, 2 * np.pi)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    t = (np.cos(angle) * xx / w + np.sin(angle) * yy / h + 1) / 2
    t = (t - t.min()) / (t.max() - t.min() + 1e-6)
    c0 = np.array([rnd.randint(0, 255) for _ in range(3)], dtype=np.float32)
    c1 = np.array([rnd.randint(0, 255) for _ in range(3)], dtype=np.float32)
    pixels = c0 * (1 - t[..., None]) + c1 * t[..., None]
    img = Image.fromarray(pixels.clip(0, 255).astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(img)

    # A horizon: the lower part of the frame darker or lighter, at a random height.
    horizon = rnd.randint(h // 3, 3 * h // 4)
    ground = tuple(rnd.randint(0, 200) for _ in range(3))
    draw.polygon(
        [(0, horizon + rnd.randint(-40, 40)), (w, horizon + rnd.randint(-40, 40)), (w, h), (0, h)],
        fill=ground,
    )

    # Objects: ellipses, boxes and polygons of random colours at random places and sizes.
    for _ in range(rnd.randint(4, 12)):
        colour = tuple(rnd.randint(0, 255) for _ in range(3))
        x0, y0 = rnd.randint(-w // 8, w), rnd.randint(-h // 8, h)
        x1, y1 = x0 + rnd.randint(w // 12, w // 2), y0 + rnd.randint(h // 12, h // 2)
        kind = rnd.choice(("ellipse", "rectangle", "polygon"))
        if kind == "ellipse":
            draw.ellipse((x0, y0, x1, y1), fill=colour)
        elif kind == "rectangle":
            draw.rectangle((x0, y0, x1, y1), fill=colour)
        else:
            points = [(rnd.randint(x0, x1), rnd.randint(y0, y1)) for _ in range(rnd.randint(3, 6))]
            draw.polygon(points, fill=colour)

    # A sign: a light panel with a word, as in street scenes.
    sx, sy = rnd.randint(0, w - 200), rnd.randint(0, h - 60)
    draw.rectangle((sx, sy, sx + 190, sy + 50), fill=(235, 235, 225))
    font = ImageFont.load_default(size=rnd.randint(18, 30))
    draw.text((sx + 8, sy + 10), rnd.choice(WORDS), fill=(20, 20, 40), font=font)

    # Optics and sensor: a soft blur, then noise.
    img = img.filter(ImageFilter.GaussianBlur(rnd.uniform(0.8, 2.5)))
    noise = rng.standard_normal((h, w, 3), dtype=np.float32) * np.float32(rnd.uniform(3, 12))
    noisy = np.asarray(img, dtype=np.float32) + noise
    return Image.fromarray(noisy.clip(0, 255).astype(np.uint8), "RGB")


def resized(img: Image.Image) -> Image.Image:
    return img.resize((img.width // 2, img.height // 2), Image.Resampling.LANCZOS)


def recompressed(img: Image.Image) -> Image.Image:
    buffer = io.BytesIO()
    img.save(buffer, "JPEG", quality=60)
    buffer.seek(0)
    return Image.open(buffer).convert("RGB")


def cropped(img: Image.Image) -> Image.Image:
    """5 % of the width and of the height cut off, all from the left and top edges.

    One-sided, so the content also shifts: harder for a hash than a centred crop.
    """
    dx, dy = round(img.width * 0.05), round(img.height * 0.05)
    return img.crop((dx, dy, img.width, img.height))


def mirrored(img: Image.Image) -> Image.Image:
    return ImageOps.mirror(img)


def brighter(img: Image.Image) -> Image.Image:
    return ImageEnhance.Brightness(img).enhance(1.1)


def darker(img: Image.Image) -> Image.Image:
    return ImageEnhance.Brightness(img).enhance(0.9)


def captioned(img: Image.Image) -> Image.Image:
    """A caption burnt into a dark band along the bottom, as re-posts often carry."""
    out = img.copy()
    draw = ImageDraw.Draw(out)
    band = img.height // 8
    draw.rectangle((0, img.height - band, img.width, img.height), fill=(0, 0, 0))
    font = ImageFont.load_default(size=band // 2)
    draw.text(
        (12, img.height - band + band // 5),
        "Regardez ca avant que ce soit supprime",
        fill=(255, 255, 255),
        font=font,
    )
    return out


VARIANTS: dict[str, Callable[[Image.Image], Image.Image]] = {
    "resized_50": resized,
    "jpeg_q60": recompressed,
    "cropped_5": cropped,
    "mirrored": mirrored,
    "brightness_+10": brighter,
    "brightness_-10": darker,
    "captioned": captioned,
}


def originals() -> list[Image.Image]:
    return [photo(seed) for seed in ORIGINAL_SEEDS]


def unrelated() -> list[Image.Image]:
    return [photo(seed) for seed in UNRELATED_SEEDS]
