"""bench/admin_queue.py's fill, first half: sources, policies and articles, then the plan
(`bench_case`, a temporary table): each case's kind, state, report counts per outcome and
times, from which the rows are written (bench/_admin_queue_rows.py)."""

from bench._admin_queue_words import POLICIES


def plan_statements() -> list[tuple[str, str]]:
    """(label, statement) in order: what the plan stands on, then the plan."""
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
    ]
