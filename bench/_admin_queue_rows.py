"""bench/admin_queue.py's fill, second half: the rows the plan (bench/_admin_queue_plan.py)
implies: images, reports, cases (counted from their reports), the audit trail, sequences."""


def row_statements() -> list[tuple[str, str]]:
    """(label, statement) in order; they read the temporary table `bench_case`."""
    return [
        (
            "images",
            """
            INSERT INTO articles_image
                (id, article_id, position, caption, credit, original, width, height, format,
                 byte_size, sha256, phash, visibility, created_at, status, processed_at,
                 processing_attempts, thumbnail, rendition, thumbnail_webp, rendition_webp)
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
                   published_at, 'ready', published_at, 1,
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
