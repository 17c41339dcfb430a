"""Drawing the demo images: deterministic JPEGs with a caption band."""

import hashlib
import io
import random
import unicodedata

from PIL import Image as PILImage
from PIL import ImageDraw, ImageFont

IMAGE_SIZE = (1200, 800)
DRAWN_WORDS = 8


def draw_image(*, text: str, seed_key: str) -> bytes:
    """A JPEG whose bytes depend only on `text` and `seed_key`."""
    # hashlib rather than hash(): str hashes are salted per process.
    rng = random.Random(hashlib.sha256(seed_key.encode()).digest())
    width, height = IMAGE_SIZE

    gradient = PILImage.linear_gradient("L")
    if rng.random() < 0.5:
        gradient = gradient.transpose(PILImage.Transpose.ROTATE_90)
    gradient = gradient.resize(IMAGE_SIZE)
    start, end = _random_colour(rng=rng, dark=True), _random_colour(rng=rng, dark=False)
    canvas = PILImage.composite(
        PILImage.new("RGBA", IMAGE_SIZE, end), PILImage.new("RGBA", IMAGE_SIZE, start), gradient
    )

    shapes = PILImage.new("RGBA", IMAGE_SIZE, (0, 0, 0, 0))
    draw = ImageDraw.Draw(shapes)
    for _ in range(rng.randint(5, 9)):
        x, y = rng.randrange(-200, width), rng.randrange(-200, height)
        size = rng.randrange(120, 420)
        fill = (*_random_colour(rng=rng, dark=rng.random() < 0.5), rng.randrange(50, 130))
        if rng.random() < 0.5:
            draw.ellipse((x, y, x + size, y + size), fill=fill)
        else:
            draw.rectangle((x, y, x + size, y + size * 2 // 3), fill=fill)
    canvas = PILImage.alpha_composite(canvas, shapes)

    _draw_caption_band(canvas=canvas, text=_first_words(text))
    buffer = io.BytesIO()
    canvas.convert("RGB").save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()


def _random_colour(*, rng: random.Random, dark: bool) -> tuple[int, int, int]:
    low, high = (20, 110) if dark else (120, 240)
    return (rng.randint(low, high), rng.randint(low, high), rng.randint(low, high))


def _first_words(text: str) -> str:
    words = _without_accents(text).split()
    return " ".join(words[:DRAWN_WORDS]) + (" \u2026" if len(words) > DRAWN_WORDS else "")


def _without_accents(text: str) -> str:
    # Pillow's bundled font (Aileron) has no accented letters; "e" reads better
    # than a missing-glyph box.
    text = text.replace("\u0153", "oe").replace("\u0152", "OE")
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(char for char in decomposed if unicodedata.category(char) != "Mn")


def _draw_caption_band(*, canvas: PILImage.Image, text: str) -> None:
    width, height = canvas.size
    margin = 60
    font = ImageFont.load_default(size=56)
    label_font = ImageFont.load_default(size=28)
    lines = _wrap(text=text, font=font, max_width=width - 2 * margin)[:3]
    line_height = 70
    band_top = height - margin - line_height * len(lines) - 40

    overlay = PILImage.new("RGBA", canvas.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    # A dark band keeps the text readable whatever the colours underneath.
    draw.rectangle((0, band_top, width, height), fill=(0, 0, 0, 150))
    for index, line in enumerate(lines):
        y = band_top + 20 + index * line_height
        draw.text((margin, y), line, font=font, fill=(255, 255, 255, 255))
    label = "DEMONSTRATION"
    label_right = margin + 12 + int(label_font.getlength(label))
    draw.rectangle((margin - 12, margin - 8, label_right, margin + 36), fill=(0, 0, 0, 150))
    draw.text((margin, margin), label, font=label_font, fill=(255, 255, 255, 255))
    canvas.alpha_composite(overlay)


def _wrap(
    *, text: str, font: ImageFont.FreeTypeFont | ImageFont.ImageFont, max_width: int
) -> list[str]:
    lines: list[str] = []
    for word in text.split():
        candidate = f"{lines[-1]} {word}" if lines else word
        if lines and font.getlength(candidate) <= max_width:
            lines[-1] = candidate
        else:
            lines.append(word)
    return lines
