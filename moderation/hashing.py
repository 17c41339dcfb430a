"""Image hashes for bans: an exact sha256 and a 64-bit perceptual hash, and a matcher.

Why a 64-bit pHash and not PDQ: PDQ (`pdqhash`) is what industry hash lists exchange, but
it has no wheel for CPython 3.11 on x86-64 Linux in the indexes we install from (only
sdists, whose build fails here), and a build toolchain is not something deployment should
need. pHash (the DCT hash of `imagehash`) installs from wheels and fits in a PostgreSQL
`bigint`. Were PDQ adopted later, its 256 bits would go in four `bigint` columns (or one
32-byte `bytea`, plus the 64-hex text form for exchange); the matcher below would hold a
packed `(n, 4)` uint64 array and sum four popcounts, and the bound would be PDQ's own (31 of
256 bits in Meta's reference).

A pHash thresholds the 8x8 lowest frequencies of the image's DCT at their median, so every
hash has 32 bits set and distances between hashes are even. It survives resizing,
recompression and brightness changes almost untouched, bends under crops and overlays, and
does not survive a mirror: a mirror flips the sign of every odd horizontal frequency. So a
ban covers both the image and its mirror (`perceptual_hashes`).

A hash costs about 0.7 ms at 480x360, 2.8 ms at 1024x768 and 37 ms at 12 MP, nearly all of
it Pillow reducing the image to 32x32: hash a reduced image (the 1024 px rendition hashes
0 bits away from its 12 MP source), and hash uploads and bans the same way.

Figures for `MATCH_DISTANCE` come from tests/corpus.py (60 photo-like originals, 7 variants
each, 300 unrelated images) and are asserted in tests/moderation/test_hashing.py.
"""

import hashlib
import threading
from collections.abc import Iterable

import imagehash
import numpy as np
from PIL import Image, ImageOps

# At 8 bits of 64, on the test corpus: recall 100 % on resized 50 %, JPEG q60, brightness
# ±10 % and (through the mirror hash) mirrored; 51.7 % on a one-sided 5 % crop and 58.3 %
# with a caption band; 366 of 420 variants (87.1 %) overall. False matches: none in 82,620
# unrelated pairs and none of 300 unrelated uploads against the 60 bans (nor in a one-off
# run on 1,200 other generated images at 640x480: 719,400 pairs, the closest 10 bits apart).
# At 10, crops and captions rise to 71.7 % / 66.7 % (91.2 % overall), but 3 pairs
# false-match and 2 of the 300 uploads (0.7 %) hit one of only 60 bans: each ban is one more
# chance for every upload, so that rate grows with the bank. Crops and captions are what
# this hash cannot afford to chase; a looser "review, don't block" band, or PDQ, is where
# they would be caught.
MATCH_DISTANCE = 8

_INT64_MIN = -(1 << 63)
_UINT64_MASK = (1 << 64) - 1


def sha256_hex(data: bytes) -> str:
    """The exact-duplicate key: a re-upload of the very same bytes."""
    return hashlib.sha256(data).hexdigest()


def perceptual_hash(image: Image.Image) -> int:
    """The 64-bit pHash of `image` as a signed int, ready for a PostgreSQL `bigint`.

    Bits are read row by row from the 8x8 DCT block, most significant first, so the
    unsigned value matches `int(str(imagehash.phash(image)), 16)`; it is then stored in
    two's complement because `bigint` is signed.
    """
    bits = imagehash.phash(image, hash_size=8).hash
    return int.from_bytes(np.packbits(bits).tobytes(), "big", signed=True)


def perceptual_hashes(image: Image.Image) -> tuple[int, int]:
    """The hashes a ban records: the image's and its mirror's (a mirror defeats pHash)."""
    return perceptual_hash(image), perceptual_hash(ImageOps.mirror(image))


def to_signed(value: int) -> int:
    """A 64-bit hash, given signed or unsigned, as the signed int a `bigint` holds."""
    if not _INT64_MIN <= value <= _UINT64_MASK:
        raise ValueError(f"not a 64-bit hash: {value}")
    value &= _UINT64_MASK
    return value - (1 << 64) if value >> 63 else value


def hamming(a: int, b: int) -> int:
    """Bits that differ between two 64-bit hashes, whether given signed or unsigned."""
    return ((a ^ b) & _UINT64_MASK).bit_count()


def linear_nearest(
    entries: Iterable[tuple[int, int]], hash: int, max_distance: int
) -> tuple[int, int] | None:
    """The reference matcher: the (ban_id, distance) closest to `hash` within `max_distance`.

    Plain Python over every entry; on equal distances the first entry wins. `HashIndex`
    must answer exactly this.
    """
    best: tuple[int, int] | None = None
    for ban_id, banned in entries:
        distance = ((banned ^ hash) & _UINT64_MASK).bit_count()
        if distance <= max_distance and (best is None or distance < best[1]):
            best = (ban_id, distance)
    return best


class HashIndex:
    """Banned perceptual hashes, packed once for fast nearest-neighbour lookups.

    A lookup XORs the query against a contiguous uint64 array and counts bits with
    `np.bitwise_count` (one POPCNT per hash): about 0.6 ms per query at a million bans (see
    bench/hash_match.py), with no tree to rebuild when bans change. Build one per worker
    process and replace it whole when the bans change: it is immutable, so a lookup never
    sees a half-updated index.
    """

    def __init__(self, entries: Iterable[tuple[int, int]]) -> None:
        pairs = list(entries)
        ids = [ban_id for ban_id, _ in pairs]
        hashes = [banned for _, banned in pairs]
        try:
            packed = np.array(hashes, dtype=np.int64)
        except OverflowError:  # some given unsigned: the slow path, value by value
            packed = np.array([to_signed(h) for h in hashes], dtype=np.int64)
        self._ids = np.array(ids, dtype=np.int64)
        self._hashes = packed.view(np.uint64)
        # Per-thread scratch arrays: allocating ~9 MB per lookup at a million bans costs
        # page faults that dominate the tail latency; sharing one buffer between threads
        # would race.
        self._scratch = threading.local()

    def __len__(self) -> int:
        return len(self._ids)

    @property
    def nbytes(self) -> int:
        """The index's own arrays; each thread that queries adds 9 bytes per hash of scratch."""
        return self._ids.nbytes + self._hashes.nbytes

    def nearest(self, hash: int, max_distance: int) -> tuple[int, int] | None:
        """The (ban_id, distance) closest to `hash` if within `max_distance`, else None.

        On equal distances the entry given first wins, as in `linear_nearest`.
        """
        if not len(self._ids):
            return None
        query = np.array(to_signed(hash), dtype=np.int64).view(np.uint64)
        xor, distances = self._buffers()
        np.bitwise_xor(self._hashes, query, out=xor)
        np.bitwise_count(xor, out=distances)
        i = int(distances.argmin())
        distance = int(distances[i])
        if distance > max_distance:
            return None
        return int(self._ids[i]), distance

    def _buffers(self) -> tuple[np.ndarray, np.ndarray]:
        scratch = self._scratch
        if not hasattr(scratch, "xor"):
            scratch.xor = np.empty_like(self._hashes)
            scratch.distances = np.empty(len(self._hashes), dtype=np.uint8)
        return scratch.xor, scratch.distances
