"""bench/soak.py's traffic: the mix, the readers who report, and job i of the mix."""

import random
import threading
from collections import defaultdict, deque

import requests

from bench.harness import Reader, Stack

REPORTS_PER_READER = 5
REASONS = ["violence", "violence", "nudity", "hate", "misleading", "spam", "copyright", "other"]
# kind: (share of the traffic, expected statuses)
MIX = {
    "article_page": (0.25, {200}),
    "home_page": (0.10, {200}),
    "image_api": (0.05, {200}),
    "media": (0.10, {200, 404}),
    "report": (0.45, {200, 201}),
    "moderator_list": (0.03, {200}),
    "moderator_decision": (0.02, {200, 201, 409}),
}


class ReaderPool:
    """Readers who report up to REPORTS_PER_READER times each, one request at a time."""

    def __init__(self, base_url: str, first: int):
        self.base_url = base_url
        self.next_n = first
        self.idle: deque[tuple[Reader, int, set[int]]] = deque()
        self.lock = threading.Lock()
        self.made = 0

    def take(self) -> tuple[Reader, int, set[int]]:
        with self.lock:
            if self.idle:
                return self.idle.popleft()
            self.next_n += 1
            self.made += 1
            return Reader(self.base_url, self.next_n), 0, set()

    def give_back(self, reader: Reader, uses: int, seen: set[int]) -> None:
        if uses >= REPORTS_PER_READER:
            reader.close()
            return
        with self.lock:
            self.idle.append((reader, uses, seen))


class Traffic:
    """Makes job i of the mix (deterministic per i, from the seed)."""

    def __init__(self, stack: Stack, args, slugs, images, media, token: str, first_reader: int):
        self.base = stack.base_url
        self.seed = args.seed
        self.slugs = slugs
        self.images = images
        self.hot = images[: max(1, len(images) // 10)]
        self.media_urls = media
        self.readers = ReaderPool(stack.base_url, first_reader)
        self.moderator_headers = {
            "Authorization": f"Token {token}",
            "X-Forwarded-For": "192.0.2.10",
        }
        self.candidates: deque[tuple[int, str, bool]] = deque(maxlen=40)
        self.decisions: dict[str, int] = defaultdict(int)
        self.lock = threading.Lock()
        kinds, weights = zip(*((k, v[0]) for k, v in MIX.items()), strict=True)
        self.kinds, self.weights = list(kinds), list(weights)

    def job(self, i: int):
        rng = random.Random(self.seed * 1_000_003 + i)
        kind = rng.choices(self.kinds, self.weights)[0]
        return kind, getattr(self, kind)(rng)

    # Pages and reads: a new visitor each time (gunicorn's sync workers close every
    # connection anyway).

    def _get(self, path: str, headers: dict | None = None) -> int:
        with requests.Session() as session:
            url = path if path.startswith("http") else self.base + path
            return session.get(url, headers=headers, timeout=30).status_code

    def article_page(self, rng):
        slug = rng.choice(self.slugs)
        return lambda: self._get(f"/articles/{slug}/")

    def home_page(self, rng):
        path = "/?page=2" if rng.random() < 0.1 else "/"
        return lambda: self._get(path)

    def image_api(self, rng):
        image_id = rng.choice(self.images)
        return lambda: self._get(f"/api/images/{image_id}/")

    def media(self, rng):
        url = rng.choice(self.media_urls)
        return lambda: self._get(url)

    def report(self, rng):
        pick_hot = rng.random() < 0.7
        choices = [rng.choice(self.hot if pick_hot else self.images) for _ in range(3)]
        reason = rng.choice(REASONS)

        def job() -> int:
            reader, uses, seen = self.readers.take()
            try:
                # A reader reports an image once; if all three picks were seen, the repeat
                # is sent anyway (it answers 200 and counts nothing, as for a real reader).
                image_id = next((c for c in choices if c not in seen), choices[0])
                seen.add(image_id)
                return reader.post(
                    f"/api/images/{image_id}/reports/", {"reason": reason}
                ).status_code
            finally:
                self.readers.give_back(reader, uses + 1, seen)

        return job

    def _list_queue(self) -> int:
        with requests.Session() as session:
            response = session.get(
                f"{self.base}/api/moderation/cases/?needs_review=true&page_size=20",
                headers=self.moderator_headers,
                timeout=30,
            )
        if response.status_code == 200:
            with self.lock:
                for case in response.json()["results"]:
                    self.candidates.append(
                        (case["id"], case["state"], bool(case["brigade_held_at"]))
                    )
        return response.status_code

    def moderator_list(self, rng):
        return self._list_queue

    def moderator_decision(self, rng):
        roll = rng.random()

        def job() -> int:
            with self.lock:
                candidate = self.candidates.popleft() if self.candidates else None
            if candidate is None:
                # Nothing to decide on: the moderator looks at the queue instead (200).
                with self.lock:
                    self.decisions["none to decide: listed the queue"] += 1
                return self._list_queue()
            case_id, state, held = candidate
            if state == "auto_blocked":
                action = "confirm" if roll < 0.5 else "restore"
            elif state == "blocked":
                action = "restore"
            elif held:
                action = "release" if roll < 0.4 else "dismiss" if roll < 0.8 else "confirm"
            else:
                action = "dismiss" if roll < 0.8 else "confirm"
            with requests.Session() as session:
                response = session.post(
                    f"{self.base}/api/moderation/cases/{case_id}/decisions/",
                    json={"action": action, "note": "soak"},
                    headers=self.moderator_headers,
                    timeout=30,
                )
            with self.lock:
                self.decisions[f"{action} {response.status_code}"] += 1
            return response.status_code

        return job
