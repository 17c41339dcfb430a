"""The moderators' queue at scale: build a large database, then time its pages.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/sig_bench \\
        .venv/bin/python bench/admin_queue.py [--cases 100000 --reports 1000000]

DATABASE_URL gives the PostgreSQL server and credentials only: the bench drops and
recreates its own database (`--database`, default `signalement_bench`; the name must
contain "bench") and touches no other. It migrates it, fills it with set-based SQL
(sources, articles, one image and one ImageCase per case in realistic states, the
reports behind every count, policies, the audit trail), runs VACUUM ANALYZE, then
times each page through Django's test client in this same process:

- floor: a bare staff-only view that runs `SELECT 1` and renders a tiny template,
  through the same middleware, session and user loading as the other pages;
- the admin index (a second reference);
- the queue (`/admin/moderation/imagecase/`), its "needs review" filter and a search;
- two case pages: a usual auto-blocked case, and the case with the most reports;
- the moderator API list (`/api/moderation/cases/`), plain and filtered by reason.

Pages that don't exist yet (the admin or the API not landed) are listed as skipped.

It prints one JSON object on stdout (progress goes to stderr) and exits 1 if any page
answers anything but 200. Pages slower than `--profile-ms` get the EXPLAIN ANALYZE of
their slowest queries and a cProfile summary on stderr.
"""

import argparse
import cProfile
import io
import json
import os
import platform
import pstats
import statistics
import sys
import time
import warnings
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent

REASONS_WEIGHTED = (
    ["violence"] * 5
    + ["nudity"] * 4
    + ["hate"] * 2
    + ["harassment"] * 2
    + ["spam"] * 2
    + ["misleading"] * 2
    + ["copyright", "illegal", "other"]
)
COMMENTS = [
    "Image choquante, pas adaptée à la une.",
    "Photo violente sans avertissement.",
    "Cette photo appartient à notre agence.",
    "Montage trompeur, ce n'est pas le bon lieu.",
    "On voit le visage d'un enfant.",
    "Publicité déguisée.",
    "Ce n'est pas la bonne date.",
    "Offensant pour les victimes.",
]
SOURCE_NAMES = [
    "Le Quotidien du Sud",
    "La Gazette de l'Ouest",
    "Le Courrier de Lyon",
    "Nord Matin",
    "L'Écho des Alpes",
    "Le Journal de Bretagne",
    "Paris Soir Express",
    "La Dépêche du Centre",
    "Le Petit Normand",
    "Méditerranée Info",
    "Le Républicain Lorrain",
    "L'Alsace Aujourd'hui",
    "Le Phare de Nantes",
    "La Voix du Rhône",
    "Le Progrès de Dijon",
    "Atlantique Hebdo",
    "Le Messager de Genève",
    "Le Soir de Bruxelles",
    "Dakar Actu",
    "Montréal Dépêche",
]
SUBJECTS = [
    "Incendie",
    "Manifestation",
    "Élections",
    "Tempête",
    "Procès",
    "Grève",
    "Inondations",
    "Festival",
    "Sommet",
    "Accident",
    "Séisme",
    "Marché",
    "Concert",
    "Match",
    "Réforme",
    "Crise",
    "Enquête",
    "Canicule",
    "Rentrée",
    "Exposition",
]
PLACES = [
    "Marseille",
    "Lyon",
    "Paris",
    "Toulouse",
    "Nantes",
    "Lille",
    "Bordeaux",
    "Nice",
    "Strasbourg",
    "Rennes",
    "Montpellier",
    "Grenoble",
    "Dijon",
    "Brest",
    "Rouen",
    "Reims",
    "Tours",
    "Metz",
    "Nancy",
    "Caen",
    "Bruxelles",
    "Genève",
    "Dakar",
    "Alger",
    "Tunis",
    "Montréal",
    "Beyrouth",
    "Abidjan",
    "Casablanca",
    "Madrid",
]
QUALIFIERS = [
    "ce que l'on sait",
    "les images",
    "le récit",
    "les réactions",
    "le point sur la situation",
    "les premières conclusions",
    "ce qui change",
    "en direct",
    "l'analyse",
    "les chiffres",
    "témoignages",
    "la chronologie",
]
CAPTIONS = [
    "Des habitants rassemblés",
    "Vue aérienne du quartier",
    "Les secours sur place",
    "La foule devant la mairie",
    "Un policier surveille la scène",
    "Les premiers témoins",
    "Le cortège dans le centre-ville",
    "Une rue après le passage",
]
CREDITS = ["AFP", "Reuters", "AP", "Getty Images", "DR", "Photo de la rédaction"]
BODY = (
    "Les faits se sont produits en fin de journée, selon plusieurs témoins joints par la "
    "rédaction. Les autorités locales ont confirmé l'information et promis de communiquer "
    "rapidement sur les suites. Sur place, les habitants décrivent une situation tendue "
    "mais maîtrisée, et saluent la réactivité des services publics.\n\n"
    "## Ce que disent les responsables\n\n"
    "Le maire a pris la parole devant la presse pour appeler au calme. Il a annoncé la "
    "tenue d'une réunion publique dans les prochains jours, ainsi qu'un bilan détaillé. "
    "Les associations du quartier demandent davantage de moyens et une meilleure "
    "information des riverains.\n\n"
    "## Et maintenant\n\n"
    "Une enquête a été ouverte. Les conclusions sont attendues d'ici la fin du mois, "
    "et la rédaction suivra le dossier."
)

# Policies: (source id or None, threshold, window in days). The global row
# matches the settings' defaults; three sources have their own.
POLICIES = [(None, 5, 30), (1, 3, 14), (2, 10, 30), (3, 5, 7)]
IMAGES_PER_ARTICLE = 4
MODERATOR_USERNAME = "bench-moderator"
REVIEWERS = ["moderator-1", "moderator-2", "moderator-3", "moderator-4"]
MODERATORS_MIGRATION = ROOT / "moderation" / "migrations" / "0004_moderators_group.py"


def log(message: str) -> None:
    print(f"[admin_queue] {message}", file=sys.stderr, flush=True)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=100_000, help="images, one case each")
    parser.add_argument("--reports", type=int, default=1_000_000, help="reports in all")
    parser.add_argument("--sources", type=int, default=20)
    parser.add_argument("--database", default="signalement_bench", help="dropped and recreated")
    parser.add_argument("--reuse", action="store_true", help="keep the database if built")
    parser.add_argument("--runs", type=int, default=30, help="timed requests per page")
    parser.add_argument("--warmups", type=int, default=3)
    parser.add_argument(
        "--page-budget", type=float, default=25.0, help="seconds of timed runs per page at most"
    )
    parser.add_argument("--search", default="marseille", help="the queue search term")
    parser.add_argument("--seed", type=float, default=0.42, help="PostgreSQL setseed()")
    parser.add_argument(
        "--profile-ms", type=float, default=300.0, help="profile pages whose p50 exceeds this"
    )
    args = parser.parse_args()
    if args.sources < 3:
        parser.error("--sources must be at least 3 (three have their own policy)")
    if args.cases < 10:
        parser.error("--cases must be at least 10")
    if args.reports < 3 * args.cases:
        parser.error("--reports must be at least 3 times --cases (every case has open reports)")
    if "bench" not in args.database:
        parser.error("--database must contain 'bench': the bench drops it")
    return args


# --- the database -----------------------------------------------------------------


def server_url() -> str:
    url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    if urlsplit(url).scheme not in ("postgres", "postgresql"):
        sys.exit("admin_queue: DATABASE_URL must point at PostgreSQL")
    return url


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def database_exists(url: str, name: str) -> bool:
    import psycopg

    with psycopg.connect(with_database(url, "postgres"), autocommit=True) as conn:
        row = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        return row is not None


def recreate_database(url: str, name: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(with_database(url, "postgres"), autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def configure_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("SECRET_KEY", "bench-only-not-a-secret")
    os.environ["DEBUG"] = "0"
    # The test client speaks plain HTTP: no redirect to HTTPS.
    os.environ["HTTPS"] = "0"
    os.environ["ALLOWED_HOSTS"] = "testserver"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "newsroom.settings")
    sys.path.insert(0, str(ROOT))
    # whitenoise warns that STATIC_ROOT is missing: collectstatic is production's step.
    warnings.filterwarnings("ignore", "No directory at", UserWarning)

    import django

    django.setup()


def fill_statements(args: argparse.Namespace) -> list[tuple[str, str]]:
    """The set-based SQL that fills the database, as (label, statement) in order.

    Every image has one case; each case gets a kind that fixes its state and how
    many reports of each outcome it has. Open, upheld and dismissed counts start at
    what the state needs (a blocked case reached its threshold); the rest of the
    report budget is spread over the cases with heavy-tailed weights (a few images
    draw thousands of reports) and lands where the state says it would: expired
    reports on flagged cases, the brigade's margin on auto-blocked ones, upheld on
    confirmed blocks, dismissed on restored images, open on protected ones. The
    case's count, score and report times are then computed from its reports.
    """
    policies = ", ".join(
        f"({'NULL' if source is None else source}, {threshold}, {window}, "
        f"now() - interval '90 days')"
        for source, threshold, window in POLICIES
    )
    return [
        ("seed", "SELECT setseed(%(seed)s)"),
        (
            "sources",
            """
            INSERT INTO articles_source (id, name, slug, site_url, language)
            SELECT g, COALESCE((%(source_names)s::text[])[g], 'Source ' || g),
                   'source-' || g, 'https://source-' || g || '.example.org/',
                   (ARRAY['fr', 'fr', 'fr', 'fr', 'en', 'es', 'ar'])[1 + mod(g, 7)]
            FROM generate_series(1, %(sources)s) AS g
            """,
        ),
        (
            "policies",
            "INSERT INTO moderation_policy (source_id, threshold, window_days, updated_at) "
            f"VALUES {policies}",
        ),
        (
            "articles",
            """
            INSERT INTO articles_article
                (id, source_id, title, slug, byline, published_at, language, body, original_url)
            SELECT g, source_id, title, 'bench-article-' || g, 'La rédaction', published_at,
                   'fr', title || E'\n\n' || %(body)s,
                   'https://source-' || source_id || '.example.org/articles/' || g
            FROM (
                SELECT g,
                       1 + floor(%(sources)s * power(random(), 1.5))::int AS source_id,
                       (%(subjects)s::text[])[1 + floor(random() * %(n_subjects)s)::int]
                         || ' à '
                         || (%(places)s::text[])[1 + floor(random() * %(n_places)s)::int]
                         || ' : '
                         || (%(qualifiers)s::text[])[1 + floor(random() * %(n_qualifiers)s)::int]
                         AS title,
                       now() - ((%(articles)s - g) / %(articles)s::float * 730
                                + random()) * interval '1 day' AS published_at
                FROM generate_series(1, %(articles)s) AS g
            ) AS a
            ORDER BY g
            """,
        ),
        (
            "plan",
            """
            CREATE TEMP TABLE bench_case ON COMMIT DROP AS
            WITH i AS (
                SELECT g AS image_id, (g - 1) / %(per_article)s + 1 AS article_id,
                       mod(g - 1, %(per_article)s) AS position,
                       random() AS u, random() AS u_open, 1 - random() AS u_tail,
                       random() AS u_tail_on, random() AS u_t1, random() AS u_t2,
                       random() AS u_t3, random() AS u_reason, random() AS u_prot,
                       floor(random() * %(n_reviewers)s)::int AS reviewer
                FROM generate_series(1, %(cases)s) AS g
            ), p AS (
                SELECT i.*, a.source_id, a.published_at,
                       COALESCE(ps.threshold, pg.threshold, %(default_threshold)s) AS threshold,
                       COALESCE(ps.window_days, pg.window_days, %(default_window)s)
                         AS window_days,
                       CASE WHEN u < 0.835 THEN 'flagged'
                            WHEN u < 0.840 THEN 'protected'
                            WHEN u < 0.890 THEN 'auto_blocked'
                            WHEN u < 0.895 THEN 'reblocked'
                            WHEN u < 0.955 THEN 'blocked'
                            ELSE 'restored' END AS kind
                FROM i
                JOIN articles_article a ON a.id = i.article_id
                LEFT JOIN moderation_policy ps ON ps.source_id = a.source_id
                LEFT JOIN moderation_policy pg ON pg.source_id IS NULL
            ), q AS (
                SELECT p.*,
                       CASE kind WHEN 'flagged' THEN 'flagged' WHEN 'protected' THEN 'flagged'
                                 WHEN 'blocked' THEN 'blocked' WHEN 'restored' THEN 'restored'
                                 ELSE 'auto_blocked' END AS state,
                       kind = 'protected' OR (kind = 'restored' AND u_prot < 0.1) AS protected,
                       CASE kind
                           WHEN 'flagged' THEN LEAST(threshold - 1,
                               CASE WHEN u_open < 0.65 THEN 1 WHEN u_open < 0.90 THEN 2
                                    WHEN u_open < 0.97 THEN 3 ELSE 4 END)
                           WHEN 'restored' THEN LEAST(threshold - 1, floor(u_open * 3)::int)
                           WHEN 'blocked' THEN 0
                           ELSE threshold END AS open_base,
                       CASE WHEN kind IN ('reblocked', 'restored') THEN threshold ELSE 0 END
                         AS dismissed_base,
                       CASE WHEN kind = 'blocked' THEN threshold ELSE 0 END AS upheld_base,
                       CASE kind WHEN 'flagged' THEN 'expired' WHEN 'blocked' THEN 'upheld'
                                 WHEN 'restored' THEN 'dismissed' ELSE 'open' END
                         AS tail_outcome,
                       CASE kind
                           WHEN 'flagged' THEN (u_tail_on < 0.3)::int * 0.25
                                               * LEAST(10, power(u_tail, -1 / 1.5))
                           WHEN 'protected' THEN 10 * LEAST(1000, power(u_tail, -1 / 1.5))
                           WHEN 'auto_blocked' THEN LEAST(20, power(u_tail, -1 / 1.5))
                           WHEN 'reblocked' THEN LEAST(20, power(u_tail, -1 / 1.5))
                           WHEN 'blocked' THEN 8 * LEAST(1000, power(u_tail, -1 / 1.5))
                           ELSE 6 * LEAST(1000, power(u_tail, -1 / 1.5)) END AS tail_weight,
                       CASE WHEN kind IN ('auto_blocked', 'reblocked')
                                 THEN now() - u_t1 * (window_days - 3) * 0.8 * interval '1 day'
                            WHEN kind = 'blocked'
                                 THEN now() - (1 + u_t1 * 300) * interval '1 day'
                       END AS blocked_at,
                       (%(reasons)s::text[])[1 + floor(u_reason * %(n_reasons)s)::int]
                         AS reason
                FROM p
            )
            SELECT q.*,
                   CASE kind
                       WHEN 'blocked' THEN blocked_at + u_t2 * interval '20 hours'
                       WHEN 'reblocked' THEN blocked_at - (3 + u_t2 * 60) * interval '1 day'
                       WHEN 'restored' THEN now() - u_t2 * window_days * 0.8 * interval '1 day'
                   END AS reviewed_at
            FROM q
            """,
        ),
        (
            "plan: spread the report budget",
            """
            ALTER TABLE bench_case
                ADD COLUMN first_block_at timestamptz, ADD COLUMN extra int,
                ADD COLUMN n_expired int, ADD COLUMN n_dismissed int,
                ADD COLUMN n_upheld int, ADD COLUMN n_open int, ADD COLUMN n_total int;
            UPDATE bench_case SET first_block_at = reviewed_at - u_t3 * interval '2 days'
            WHERE kind IN ('reblocked', 'restored');
            WITH totals AS (
                SELECT %(reports)s - sum(open_base + dismissed_base + upheld_base) AS extra,
                       sum(tail_weight) AS weight
                FROM bench_case
            ), shares AS (
                SELECT c.image_id, floor(t.extra * c.tail_weight / t.weight)::int AS share,
                       row_number() OVER (ORDER BY c.tail_weight DESC, c.image_id) AS rank
                FROM bench_case c CROSS JOIN totals t
            ), leftover AS (
                SELECT (SELECT extra FROM totals) - sum(share) AS n FROM shares
            )
            UPDATE bench_case c
            SET extra = s.share + (s.rank <= l.n)::int
            FROM shares s CROSS JOIN leftover l
            WHERE s.image_id = c.image_id;
            UPDATE bench_case SET
                n_expired = (tail_outcome = 'expired')::int * extra,
                n_dismissed = dismissed_base + (tail_outcome = 'dismissed')::int * extra,
                n_upheld = upheld_base + (tail_outcome = 'upheld')::int * extra,
                n_open = open_base + (tail_outcome = 'open')::int * extra;
            UPDATE bench_case SET n_total = n_expired + n_dismissed + n_upheld + n_open;
            ANALYZE bench_case
            """,
        ),
        (
            "images",
            """
            INSERT INTO articles_image
                (id, article_id, position, caption, credit, original, width, height, format,
                 byte_size, sha256, phash, visibility, created_at, status, processed_at,
                 thumbnail, rendition, thumbnail_webp, rendition_webp)
            SELECT image_id, article_id, position,
                   (%(captions)s::text[])[1 + floor(random() * %(n_captions)s)::int] || ', '
                     || (%(places)s::text[])[1 + floor(random() * %(n_places)s)::int],
                   (%(credits)s::text[])[1 + floor(random() * %(n_credits)s)::int],
                   'originals/2026/11/bench-' || image_id || '.jpg',
                   1600, 900, 'JPEG', 120000 + floor(random() * 400000)::int,
                   md5('sha-a-' || image_id) || md5('sha-b-' || image_id),
                   ('x' || substr(md5('phash-' || image_id), 1, 16))::bit(64)::bigint,
                   CASE WHEN state IN ('auto_blocked', 'blocked') THEN 'blocked'
                        ELSE 'visible' END,
                   published_at, 'ready', published_at,
                   'renditions/bench/' || image_id || '/thumbnail.jpg',
                   'renditions/bench/' || image_id || '/rendition.jpg',
                   'renditions/bench/' || image_id || '/thumbnail_webp.webp',
                   'renditions/bench/' || image_id || '/rendition_webp.webp'
            FROM bench_case
            ORDER BY image_id
            """,
        ),
        (
            "reports",
            """
            SET LOCAL work_mem = '256MB';
            INSERT INTO moderation_report
                (image_id, reporter_key, user_id, ip_hash, network_hash, reason, comment,
                 weight, outcome, created_at)
            SELECT image_id,
                   'reader:' || md5('bench-reader-' || k)::uuid,
                   NULL,
                   -- One address per reader (anonymous reports are unique per image and
                   -- address), in networks shared by a few readers each.
                   md5('bench-ip-' || k) || md5('bench-ip2-' || k),
                   md5('bench-net-' || mod(k, 250007)) || md5('bench-net2-' || mod(k, 250007)),
                   CASE WHEN random() < 0.7 THEN reason
                        ELSE (%(reasons)s::text[])[1 + floor(random() * %(n_reasons)s)::int]
                   END,
                   CASE WHEN random() < 0.15
                        THEN (%(comments)s::text[])[1 + floor(random() * %(n_comments)s)::int]
                        ELSE '' END,
                   CASE WHEN mod(k, 50) = 0 THEN 2 ELSE 1 END,
                   outcome,
                   CASE outcome
                       WHEN 'expired'
                           THEN now() - (window_days + 1 + random() * 300) * interval '1 day'
                       WHEN 'dismissed' THEN first_block_at - random() * interval '2 days'
                       WHEN 'upheld' THEN blocked_at - random() * interval '2 days'
                       ELSE CASE kind
                           WHEN 'restored' THEN reviewed_at + random() * (now() - reviewed_at)
                           WHEN 'auto_blocked' THEN blocked_at - random() * interval '2 days'
                           WHEN 'reblocked' THEN blocked_at - random() * interval '2 days'
                           ELSE now() - random() * window_days * 0.9 * interval '1 day'
                       END
                   END AS created_at
            FROM (
                SELECT c.*,
                       -- Distinct within a case as long as n_total <= readers.
                       mod(c.image_id::bigint * 7919 + j, %(readers)s) AS k,
                       CASE WHEN j < n_expired THEN 'expired'
                            WHEN j < n_expired + n_dismissed THEN 'dismissed'
                            WHEN j < n_expired + n_dismissed + n_upheld THEN 'upheld'
                            ELSE 'open' END AS outcome
                FROM bench_case c, generate_series(0, c.n_total - 1) AS j
            ) AS r
            ORDER BY created_at
            """,
        ),
        (
            "cases",
            """
            INSERT INTO moderation_imagecase
                (image_id, open_report_count, score, state, protected, first_reported_at,
                 last_reported_at, blocked_at, reviewed_by_id, reviewed_at, needs_review)
            SELECT c.image_id,
                   CASE WHEN c.state = 'blocked' THEN r.upheld_n ELSE r.open_n END,
                   CASE WHEN c.state = 'blocked' THEN r.upheld_w ELSE r.open_w END,
                   c.state, c.protected, r.first_at, r.last_at, c.blocked_at,
                   CASE WHEN c.reviewed_at IS NOT NULL
                        THEN (%(reviewer_ids)s::bigint[])[1 + c.reviewer] END,
                   c.reviewed_at,
                   -- Stored by the services; set after the fill (needs_review_refresh_all).
                   FALSE
            FROM bench_case c
            JOIN (
                SELECT image_id,
                       count(*) FILTER (WHERE outcome = 'open') AS open_n,
                       COALESCE(sum(weight) FILTER (WHERE outcome = 'open'), 0) AS open_w,
                       count(*) FILTER (WHERE outcome = 'upheld') AS upheld_n,
                       COALESCE(sum(weight) FILTER (WHERE outcome = 'upheld'), 0) AS upheld_w,
                       min(created_at) AS first_at, max(created_at) AS last_at
                FROM moderation_report GROUP BY image_id
            ) AS r ON r.image_id = c.image_id
            ORDER BY c.image_id
            """,
        ),
        (
            "audit trail",
            """
            INSERT INTO moderation_moderationaction
                (image_id, action, actor_id, reason, details, created_at)
            SELECT image_id, action, actor_id, reason, details, created_at FROM (
                -- The first block of images a moderator restored since.
                SELECT image_id, 'auto_block' AS action, NULL::bigint AS actor_id,
                       threshold || ' reporters reached the threshold of ' || threshold
                         AS reason,
                       jsonb_build_object('open_report_count', threshold, 'score', threshold,
                                          'threshold', threshold,
                                          'previous_state', 'flagged', 'via', 'task')
                         AS details,
                       first_block_at AS created_at
                FROM bench_case WHERE kind IN ('reblocked', 'restored')
                UNION ALL
                SELECT image_id, 'restore', (%(reviewer_ids)s::bigint[])[1 + reviewer], '',
                       jsonb_build_object('previous_state', 'auto_blocked',
                                          'state', 'restored',
                                          'dismissed_reports', threshold),
                       reviewed_at
                FROM bench_case WHERE kind IN ('reblocked', 'restored')
                UNION ALL
                SELECT image_id, 'auto_block', NULL,
                       threshold || ' reporters reached the threshold of ' || threshold,
                       jsonb_build_object('open_report_count', threshold, 'score', threshold,
                                          'threshold', threshold,
                                          'previous_state',
                                          CASE kind WHEN 'reblocked' THEN 'restored'
                                                    ELSE 'flagged' END,
                                          'via', 'task'),
                       blocked_at
                FROM bench_case WHERE kind IN ('auto_blocked', 'reblocked', 'blocked')
                UNION ALL
                SELECT image_id, 'confirm', (%(reviewer_ids)s::bigint[])[1 + reviewer], '',
                       jsonb_build_object('previous_state', 'auto_blocked', 'state', 'blocked',
                                          'upheld_reports', n_upheld),
                       reviewed_at
                FROM bench_case WHERE kind = 'blocked'
                UNION ALL
                SELECT image_id, 'protect', (%(reviewer_ids)s::bigint[])[1 + reviewer],
                       'Photo d''intérêt public.',
                       jsonb_build_object('previous_state', state, 'state', state),
                       CASE WHEN kind = 'restored'
                            THEN reviewed_at + u_t3 * (now() - reviewed_at)
                            ELSE now() - u_t3 * window_days * interval '1 day' END
                FROM bench_case WHERE protected
                UNION ALL
                SELECT c.image_id, 'expire', NULL,
                       c.n_expired || ' report(s) older than ' || c.window_days || ' days',
                       jsonb_build_object('expired_reports', c.n_expired,
                                          'expired_weight', c.n_expired,
                                          'window_days', c.window_days),
                       r.last_expired + c.window_days * interval '1 day'
                FROM bench_case c
                JOIN (
                    SELECT image_id, max(created_at) AS last_expired
                    FROM moderation_report WHERE outcome = 'expired' GROUP BY image_id
                ) AS r ON r.image_id = c.image_id
                UNION ALL
                SELECT NULL, 'policy_change', (%(reviewer_ids)s::bigint[])[1], '',
                       jsonb_build_object('source_id', source_id, 'threshold', threshold,
                                          'window_days', window_days),
                       updated_at
                FROM moderation_policy
            ) AS a
            ORDER BY created_at
            """,
        ),
        (
            "sequences",
            """
            SELECT setval(pg_get_serial_sequence('articles_source', 'id'), %(sources)s);
            SELECT setval(pg_get_serial_sequence('articles_article', 'id'), %(articles)s);
            SELECT setval(pg_get_serial_sequence('articles_image', 'id'), %(cases)s)
            """,
        ),
    ]


def build(args: argparse.Namespace, reviewer_ids: list[int]) -> dict[str, float]:
    from django.conf import settings
    from django.db import connection, transaction

    articles = -(-args.cases // IMAGES_PER_ARTICLE)
    params = {
        "seed": args.seed,
        "sources": args.sources,
        "articles": articles,
        "cases": args.cases,
        "reports": args.reports,
        "per_article": IMAGES_PER_ARTICLE,
        "default_threshold": settings.REPORT_THRESHOLD,
        "default_window": settings.REPORT_WINDOW_DAYS,
        "source_names": SOURCE_NAMES,
        "body": BODY,
        "subjects": SUBJECTS,
        "n_subjects": len(SUBJECTS),
        "places": PLACES,
        "n_places": len(PLACES),
        "qualifiers": QUALIFIERS,
        "n_qualifiers": len(QUALIFIERS),
        "captions": CAPTIONS,
        "n_captions": len(CAPTIONS),
        "credits": CREDITS,
        "n_credits": len(CREDITS),
        "reasons": REASONS_WEIGHTED,
        "n_reasons": len(REASONS_WEIGHTED),
        "comments": COMMENTS,
        "n_comments": len(COMMENTS),
        "reviewer_ids": reviewer_ids,
        "n_reviewers": len(reviewer_ids),
        # About four reports per reader; never fewer readers than a case's reports.
        "readers": max(args.reports // 4, args.cases),
    }
    seconds: dict[str, float] = {}
    with transaction.atomic(), connection.cursor() as cursor:
        # A bench database: don't wait for the WAL flush of half a gigabyte at commit.
        cursor.execute("SET LOCAL synchronous_commit = off")
        for label, statement in fill_statements(args):
            started = time.perf_counter()
            if label == "reports":
                cursor.execute("SELECT max(n_total) FROM bench_case")
                params["readers"] = max(params["readers"], cursor.fetchone()[0])
            for part in statement.split(";\n"):
                if part.strip():
                    cursor.execute(part, params)
            seconds[label] = round(time.perf_counter() - started, 2)
            log(f"  {label}: {seconds[label]} s")
        started = time.perf_counter()
    # Django's foreign keys are DEFERRABLE INITIALLY DEFERRED: they are checked here.
    seconds["commit (deferred foreign key checks)"] = round(time.perf_counter() - started, 2)
    return seconds


def vacuum_analyze() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        for table in (
            "articles_source",
            "articles_article",
            "articles_image",
            "moderation_policy",
            "moderation_report",
            "moderation_imagecase",
            "moderation_moderationaction",
            "auth_user",
        ):
            cursor.execute(f"VACUUM (ANALYZE) {table}")


def ensure_users() -> tuple:
    """The measuring moderator and the reviewers named on decided cases."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    group = None
    if MODERATORS_MIGRATION.exists():
        group = Group.objects.filter(name="Moderators").first()
    user_model = get_user_model()
    users = []
    for username in [MODERATOR_USERNAME, *REVIEWERS]:
        user, _ = user_model.objects.get_or_create(
            username=username, defaults={"is_staff": True, "email": f"{username}@example.org"}
        )
        if group is not None:
            user.groups.add(group)
        elif not user.is_superuser:
            user.is_superuser = True
            user.save(update_fields=["is_superuser"])
        users.append(user)
    role = "staff + Moderators group" if group is not None else "superuser (no Moderators group)"
    return users[0], [u.pk for u in users[1:]], role


def data_sizes() -> dict:
    from django.db import connection

    def rows(sql: str) -> list[tuple]:
        with connection.cursor() as cursor:
            cursor.execute(sql)
            return cursor.fetchall()

    def scalar(sql: str):
        return rows(sql)[0][0]

    return {
        "sources": scalar("SELECT count(*) FROM articles_source"),
        "articles": scalar("SELECT count(*) FROM articles_article"),
        "images": scalar("SELECT count(*) FROM articles_image"),
        "cases": scalar("SELECT count(*) FROM moderation_imagecase"),
        "cases_by_state": dict(
            rows("SELECT state, count(*) FROM moderation_imagecase GROUP BY 1 ORDER BY 2 DESC")
        ),
        "cases_protected": scalar("SELECT count(*) FROM moderation_imagecase WHERE protected"),
        "cases_auto_blocked_unreviewed": scalar(
            "SELECT count(*) FROM moderation_imagecase WHERE state = 'auto_blocked' "
            "AND (reviewed_at IS NULL OR reviewed_at < blocked_at)"
        ),
        "reports": scalar("SELECT count(*) FROM moderation_report"),
        "reports_by_outcome": dict(
            rows("SELECT outcome, count(*) FROM moderation_report GROUP BY 1 ORDER BY 2 DESC")
        ),
        "reports_per_case_max": scalar(
            "SELECT max(n) FROM (SELECT count(*) AS n FROM moderation_report GROUP BY image_id) s"
        ),
        "policies": scalar("SELECT count(*) FROM moderation_policy"),
        "moderation_actions": scalar("SELECT count(*) FROM moderation_moderationaction"),
        "database_mb": round(scalar("SELECT pg_database_size(current_database())") / 2**20),
    }


def check_consistency() -> list[str]:
    """The invariants the data must hold; any line returned is a bench bug."""
    from django.db import connection

    checks = {
        "count or score differs from the reports": """
            SELECT count(*) FROM moderation_imagecase c
            LEFT JOIN (
                SELECT image_id,
                       count(*) FILTER (WHERE outcome = 'open') AS open_n,
                       COALESCE(sum(weight) FILTER (WHERE outcome = 'open'), 0) AS open_w,
                       count(*) FILTER (WHERE outcome = 'upheld') AS upheld_n,
                       COALESCE(sum(weight) FILTER (WHERE outcome = 'upheld'), 0) AS upheld_w
                FROM moderation_report GROUP BY image_id
            ) r ON r.image_id = c.image_id
            WHERE (c.state = 'blocked' AND (c.open_report_count, c.score)
                       IS DISTINCT FROM (r.upheld_n, r.upheld_w))
               OR (c.state <> 'blocked' AND (c.open_report_count, c.score)
                       IS DISTINCT FROM (r.open_n, r.open_w))
        """,
        "visibility differs from the state": """
            SELECT count(*) FROM moderation_imagecase c JOIN articles_image i ON i.id = c.image_id
            WHERE (c.state IN ('auto_blocked', 'blocked')) <> (i.visibility = 'blocked')
        """,
        "flagged case at or over its threshold and not protected": """
            SELECT count(*) FROM moderation_imagecase c
            JOIN articles_image i ON i.id = c.image_id
            JOIN articles_article a ON a.id = i.article_id
            LEFT JOIN moderation_policy ps ON ps.source_id = a.source_id
            LEFT JOIN moderation_policy pg ON pg.source_id IS NULL
            WHERE c.state IN ('flagged', 'restored') AND NOT c.protected
              AND c.open_report_count >= COALESCE(ps.threshold, pg.threshold)
              AND c.score >= COALESCE(ps.threshold, pg.threshold)
        """,
        "open report older than its window": """
            SELECT count(*) FROM moderation_report r
            JOIN articles_image i ON i.id = r.image_id
            JOIN articles_article a ON a.id = i.article_id
            LEFT JOIN moderation_policy ps ON ps.source_id = a.source_id
            LEFT JOIN moderation_policy pg ON pg.source_id IS NULL
            WHERE r.outcome = 'open'
              AND r.created_at < now() - COALESCE(ps.window_days, pg.window_days)
                                        * interval '1 day'
        """,
        "report in the future": "SELECT count(*) FROM moderation_report WHERE created_at > now()",
    }
    problems = []
    with connection.cursor() as cursor:
        for label, sql in checks.items():
            cursor.execute(sql)
            n = cursor.fetchone()[0]
            if n:
                problems.append(f"{label}: {n}")
    return problems


# --- the pages ------------------------------------------------------------------------


def floor_view(request):
    """The floor: what any staff page costs before it does its own work."""
    from django.db import connection
    from django.http import HttpResponse
    from django.template import engines

    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        (one,) = cursor.fetchone()
    template = engines["django"].from_string(
        "<!doctype html><title>floor</title><p>{{ request.user.get_username }}: {{ one }}</p>"
    )
    return HttpResponse(template.render({"one": one}, request))


def install_urlconf() -> None:
    """newsroom.urls plus /bench/floor/, as a module ROOT_URLCONF can name."""
    import types

    from django.contrib.admin.views.decorators import staff_member_required
    from django.test.utils import override_settings
    from django.urls import include, path

    module = types.ModuleType("bench_admin_queue_urls")
    module.urlpatterns = [
        path("bench/floor/", staff_member_required(floor_view)),
        path("", include("newsroom.urls")),
    ]
    sys.modules[module.__name__] = module
    override_settings(
        ROOT_URLCONF=module.__name__,
        # {% static %} without the collectstatic manifest, as in the tests.
        STORAGES={
            "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        },
    ).enable()


def needs_review_query(moderator) -> tuple[str | None, str]:
    """Find the admin queue's "needs review" filter among its list_filter."""
    from django.contrib import admin
    from django.test import RequestFactory

    from moderation.models import ImageCase

    model_admin = admin.site._registry.get(ImageCase)
    if model_admin is None:
        return None, "ImageCase is not registered in the admin"
    request = RequestFactory().get("/admin/moderation/imagecase/")
    request.user = moderator
    for item in model_admin.get_list_filter(request):
        if not (isinstance(item, type) and issubclass(item, admin.SimpleListFilter)):
            continue
        list_filter = item(request, {}, ImageCase, model_admin)
        for value, label in list_filter.lookup_choices:
            if "review" in f"{value} {list_filter.parameter_name}".lower() or "review" in str(
                label
            ):
                return f"{list_filter.parameter_name}={value}", ""
    return None, "no list filter with a 'review' lookup"


def pages(moderator, search: str) -> tuple[dict[str, str], dict[str, str]]:
    """The pages to time, and those skipped with why."""
    from django.contrib import admin
    from django.db.models import Count
    from django.urls import Resolver404, resolve

    from moderation.models import ImageCase, Report

    found = {"floor": "/bench/floor/", "admin_index": "/admin/"}
    skipped = {}
    queue = "/admin/moderation/imagecase/"
    if ImageCase in admin.site._registry:
        found["queue"] = queue
        query, why = needs_review_query(moderator)
        if query:
            found["queue_needs_review"] = f"{queue}?{query}"
        else:
            skipped["queue_needs_review"] = why
        found["queue_search"] = f"{queue}?q={search}"
        # What a moderator opens most: an auto-blocked case with a usual number of
        # reports; and the case with the most reports of all (a brigade's target).
        blocked = ImageCase.objects.filter(state="auto_blocked").order_by("score", "pk")
        if n_blocked := blocked.count():
            typical = blocked.values_list("pk", flat=True)[n_blocked // 2]
            found["case_page_typical"] = f"{queue}{typical}/change/"
        most = (
            Report.objects.values("image_id").annotate(n=Count("id")).order_by("-n", "image_id")
        )[0]["image_id"]
        biggest = ImageCase.objects.get(image_id=most).pk
        found["case_page_largest"] = f"{queue}{biggest}/change/"
    else:
        skipped["queue"] = "ImageCase is not registered in the admin yet"
    api = "/api/moderation/cases/"
    try:
        resolve(api)
    except Resolver404:
        skipped["api_cases"] = "no /api/moderation/cases/ route yet"
    else:
        found["api_cases"] = api
        found["api_cases_reason"] = f"{api}?reason=violence&state=flagged"
    return found, skipped


def percentile(sorted_values: list[float], fraction: float) -> float:
    """Linear interpolation between closest ranks."""
    position = (len(sorted_values) - 1) * fraction
    low = int(position)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (position - low)


def measure(client, path: str, args: argparse.Namespace) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def get():
        response = client.get(path)
        if response.status_code != 200:
            raise PageError(f"{path} answered {response.status_code}")
        return response

    for _ in range(args.warmups):
        get()
    # Queries are counted on one more request; the timed ones run without capture.
    with CaptureQueriesContext(connection) as queries:
        response = get()
    # Copied now: the next request resets connection.queries, which this reads.
    captured = [
        {"ms": round(float(q["time"]) * 1000, 2), "sql": q["sql"]} for q in queries.captured_queries
    ]
    times = []
    budget_end = time.perf_counter() + args.page_budget
    for _ in range(args.runs):
        started = time.perf_counter()
        get()
        times.append((time.perf_counter() - started) * 1000)
        if time.perf_counter() > budget_end and len(times) >= 5:
            break
    times.sort()
    return {
        "path": path,
        "runs": len(times),
        "p50_ms": round(statistics.median(times), 2),
        "p95_ms": round(percentile(times, 0.95), 2),
        "max_ms": round(times[-1], 2),
        "queries": len(captured),
        "db_ms": round(sum(q["ms"] for q in captured), 2),
        "bytes": len(response.content),
        "_captured": captured,
    }


class PageError(Exception):
    pass


def profile_page(client, name: str, page: dict) -> list[dict]:
    """EXPLAIN ANALYZE the slowest queries and cProfile one request, on stderr."""
    from django.db import connection

    slow = sorted(page["_captured"], key=lambda q: q["ms"], reverse=True)[:3]
    log(f"--- {name}: {page['path']} p50 {page['p50_ms']} ms, db {page['db_ms']} ms")
    with connection.cursor() as cursor:
        for query in slow:
            if query["ms"] < 5 or not query["sql"].lstrip().upper().startswith("SELECT"):
                continue
            cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {query['sql']}")
            plan = "\n".join(row[0] for row in cursor.fetchall())
            log(f"{query['ms']} ms: {query['sql'][:2000]}\n{plan}\n")
    profiler = cProfile.Profile()
    profiler.enable()
    client.get(page["path"])
    profiler.disable()
    out = io.StringIO()
    # Own time first (where the CPU goes), then the cumulative view from the app's code.
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(15)
    app_code = r"/work/|contrib/admin|rest_framework|template"
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(app_code, 25)
    log(out.getvalue())
    return [{"ms": q["ms"], "sql": q["sql"][:300]} for q in slow]


def machine(build_db: str) -> dict:
    import django
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        pg_version = cursor.fetchone()[0]
        settings_ = {}
        for name in ("shared_buffers", "work_mem", "effective_cache_size", "jit"):
            cursor.execute(f"SHOW {name}")
            settings_[name] = cursor.fetchone()[0]
    return {
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "django": django.get_version(),
        "postgresql": pg_version,
        "postgresql_settings": settings_,
        "database": build_db,
        "loadavg_1m_at_start": LOADAVG_AT_START,
        "loadavg_1m_at_end": round(os.getloadavg()[0], 2),
    }


LOADAVG_AT_START = round(os.getloadavg()[0], 2)


def main() -> int:
    args = parse_args()
    url = server_url()
    started = time.perf_counter()
    build_seconds: dict[str, float] = {}
    reuse = args.reuse and database_exists(url, args.database)
    if not reuse:
        log(f"recreating database {args.database}")
        recreate_database(url, args.database)
    configure_django(with_database(url, args.database))

    from django.core.management import call_command
    from django.test import Client

    from moderation.models import ImageCase
    from moderation.services import needs_review_refresh_all

    step = time.perf_counter()
    call_command("migrate", verbosity=0)
    build_seconds["migrate"] = round(time.perf_counter() - step, 2)
    moderator, reviewer_ids, role = ensure_users()
    if not (reuse and ImageCase.objects.exists()):
        log(f"filling: {args.cases} cases, {args.reports} reports")
        step = time.perf_counter()
        build_seconds["steps"] = build(args, reviewer_ids)
        build_seconds["fill"] = round(time.perf_counter() - step, 2)
        step = time.perf_counter()
        needs_review_refresh_all()
        build_seconds["needs_review_refresh_all"] = round(time.perf_counter() - step, 2)
        step = time.perf_counter()
        vacuum_analyze()
        build_seconds["vacuum_analyze"] = round(time.perf_counter() - step, 2)
    build_seconds["total"] = round(time.perf_counter() - started, 2)
    log(f"built in {build_seconds['total']} s")

    problems = check_consistency()
    sizes = data_sizes()

    install_urlconf()
    client = Client()
    client.force_login(moderator)
    # Importable now that setup put the project on sys.path.
    from bench import harness

    found, skipped = pages(moderator, args.search)
    results: dict[str, dict] = {}
    errors: dict[str, str] = {}
    for name, path in found.items():
        log(f"measuring {name}: {path}")
        try:
            results[name] = measure(client, path, args)
        except PageError as error:
            errors[name] = str(error)
            log(f"ERROR {error}")
    floor = results.get("floor")
    for name, page in results.items():
        if floor:
            page["ratio_to_floor"] = round(page["p50_ms"] / floor["p50_ms"], 1)
        if page["p50_ms"] > args.profile_ms:
            page["slowest_queries"] = profile_page(client, name, page)
    for page in results.values():
        page.pop("_captured")

    report = {
        "bench": "admin_queue",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": " ".join(["bench/admin_queue.py", *sys.argv[1:]]),
        "code": harness.code_version(),
        "machine": machine(args.database),
        "moderator": role,
        "data": sizes,
        "data_problems": problems,
        "build_seconds": build_seconds,
        "warmups": args.warmups,
        "pages": results,
        "skipped": skipped,
        "errors": errors,
        "total_seconds": round(time.perf_counter() - started, 1),
    }
    print(json.dumps(report, indent=2, ensure_ascii=False))
    return 1 if errors or problems else 0


if __name__ == "__main__":
    sys.exit(main())
