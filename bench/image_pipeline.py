"""The image pipeline on a 12 MP photo: our renditions against Pillow's bare floor.

    .venv/bin/python bench/image_pipeline.py [--runs 20]

Draws a 4000 x 3000 photo-like JPEG with Pillow (gradients, noise, shapes; EXIF
with an orientation and GPS), then times, in this same process and on the same
bytes:

- pipeline: articles.processing.render_renditions, the Pillow work of the
  `process_image` task (draft decode, orientation, sRGB, the four renditions:
  320 and 1024 px, JPEG and WebP), without the database or storage;
- floor: Pillow's bare `Image.open` + `thumbnail((1024, 1024))` of the same file.

Prints one JSON object on stdout: {p50_ms, p95_ms, floor_p50_ms, ratio, ...}.
The target is a p50 well under 300 ms.
"""

import argparse
import io
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "newsroom.settings")
os.environ.setdefault("SECRET_KEY", "bench-only")

import django

django.setup()

from PIL import Image, ImageDraw, ImageFilter  # noqa: E402

from articles.processing import render_renditions  # noqa: E402

SIZE = (4000, 3000)


def photo_jpeg() -> bytes:
    """A 12 MP JPEG that compresses like a photo, with EXIF orientation and GPS."""
    width, height = SIZE
    sky = Image.linear_gradient("L").resize(SIZE)
    red = sky.point(lambda v: 40 + v * 0.6)
    green = sky.transpose(Image.Transpose.FLIP_LEFT_RIGHT).point(lambda v: 60 + v * 0.5)
    blue = Image.radial_gradient("L").resize(SIZE).point(lambda v: 255 - v * 0.7)
    picture = Image.merge("RGB", (red, green, blue))
    draw = ImageDraw.Draw(picture)
    for n in range(60):
        x = (n * 617) % width
        y = (n * 389) % height
        draw.ellipse((x, y, x + 150 + n * 7, y + 90 + n * 5), fill=(n * 4 % 255, 120, 200 - n))
        draw.rectangle((y % width, x % height, y % width + 200, x % height + 60), fill=(30, n, 90))
    picture = picture.filter(ImageFilter.GaussianBlur(2))
    noise = Image.effect_noise(SIZE, 30).convert("RGB")
    picture = Image.blend(picture, noise, 0.12)

    exif = Image.Exif()
    exif[0x010F] = "BenchCam"
    exif[0x0112] = 6
    gps = exif.get_ifd(0x8825)
    gps.update({1: "N", 2: (48.0, 51.0, 24.0), 3: "E", 4: (2.0, 21.0, 7.0)})
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=90, exif=exif)
    return out.getvalue()


def floor(data: bytes) -> None:
    with Image.open(io.BytesIO(data)) as picture:
        picture.thumbnail((1024, 1024))


def timed(function, data: bytes, runs: int) -> list[float]:
    function(data)  # warm-up: libraries loaded, caches filled
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        function(data)
        times.append((time.perf_counter() - start) * 1000)
    return times


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()

    print("drawing the 12 MP photo…", file=sys.stderr)
    data = photo_jpeg()
    print(f"{len(data) / 1e6:.1f} MB; timing {args.runs} runs each", file=sys.stderr)
    # Interleaved, so that a noisy neighbour hurts both sides alike.
    pipeline_ms: list[float] = []
    floor_ms: list[float] = []
    for _ in range(args.runs):
        pipeline_ms += timed(render_renditions, data, 1)
        floor_ms += timed(floor, data, 1)
    p50 = statistics.median(pipeline_ms)
    floor_p50 = statistics.median(floor_ms)
    print(
        json.dumps(
            {
                "image": {"width": SIZE[0], "height": SIZE[1], "bytes": len(data)},
                "runs": args.runs,
                "p50_ms": round(p50, 1),
                "p95_ms": round(percentile(pipeline_ms, 0.95), 1),
                "floor_p50_ms": round(floor_p50, 1),
                "floor_p95_ms": round(percentile(floor_ms, 0.95), 1),
                "ratio": round(p50 / floor_p50, 2),
                "target_ms": 300,
                "pillow": Image.__version__,
                "python": platform.python_version(),
                "load_average": os.getloadavg()[0],
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
