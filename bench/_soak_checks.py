"""bench/soak.py's consistency checks, in SQL, once the worker is drained."""

from collections import defaultdict

# Each case beside what it should count (r.n, r.w): its open reports; on a confirmed
# block, the upheld reports that made it (confirm judges them and keeps the count).
CASES_WITH_THEIR_REPORTS = """
FROM moderation_imagecase c
LEFT JOIN (
    SELECT image_id,
           count(*) FILTER (WHERE outcome = 'open') AS open_n,
           sum(weight) FILTER (WHERE outcome = 'open') AS open_w,
           count(*) FILTER (WHERE outcome = 'upheld') AS upheld_n,
           sum(weight) FILTER (WHERE outcome = 'upheld') AS upheld_w
    FROM moderation_report GROUP BY image_id
) r0 ON r0.image_id = c.image_id
CROSS JOIN LATERAL (
    SELECT CASE WHEN c.state = 'blocked' THEN r0.upheld_n ELSE r0.open_n END AS n,
           CASE WHEN c.state = 'blocked' THEN r0.upheld_w ELSE r0.open_w END AS w
) r
"""


def consistency() -> dict:
    from django.conf import settings
    from django.db import connection

    def rows(sql: str, params=None) -> list[tuple]:
        with connection.cursor() as cursor:
            cursor.execute(sql, params or [])
            return cursor.fetchall()

    counts = rows(
        """
        SELECT c.state, count(*),
               count(*) FILTER (WHERE c.open_report_count <> COALESCE(r.n, 0)),
               count(*) FILTER (WHERE c.score <> COALESCE(r.w, 0))
        """
        + CASES_WITH_THEIR_REPORTS
        + "GROUP BY c.state ORDER BY c.state"
    )
    count_mismatch = {
        state: {"cases": n, "count_differs": bad_n, "score_differs": bad_w}
        for state, n, bad_n, bad_w in counts
        if bad_n or bad_w
    }
    mismatch_examples = rows(
        """
        SELECT c.image_id, c.state, c.open_report_count, COALESCE(r.n, 0), c.score,
               COALESCE(r.w, 0)
        """
        + CASES_WITH_THEIR_REPORTS
        + """
        WHERE c.open_report_count <> COALESCE(r.n, 0) OR c.score <> COALESCE(r.w, 0)
        ORDER BY c.image_id LIMIT 5
        """
    )

    # Blocks once each: walk every image's blocking actions in order.
    actions = rows(
        """
        SELECT image_id, action, details->>'previous_state'
        FROM moderation_moderationaction
        WHERE action IN ('auto_block', 'hash_block', 'block', 'confirm', 'restore')
        ORDER BY image_id, id
        """
    )
    blocked: dict[int, bool] = defaultdict(bool)
    twice: list[str] = []
    machine_blocks = restores = reblocks = 0
    episodes: dict[int, int] = defaultdict(int)
    for image_id, action, previous in actions:
        if action in ("auto_block", "hash_block"):
            machine_blocks += 1
            if blocked[image_id]:
                twice.append(f"image {image_id}: {action} while blocked")
            episodes[image_id] += 1
            if episodes[image_id] > 1:
                reblocks += 1
            blocked[image_id] = True
        elif action == "block" or (action == "confirm" and previous in ("flagged", "restored")):
            if blocked[image_id]:
                twice.append(f"image {image_id}: {action} while blocked")
            blocked[image_id] = True
        elif action == "restore":
            restores += 1
            blocked[image_id] = False
    visibility = dict(rows("SELECT id, visibility FROM articles_image"))
    walk_disagrees = [
        image_id
        for image_id, is_blocked in blocked.items()
        if is_blocked != (visibility.get(image_id) == "blocked")
    ]
    state_disagrees = rows(
        """
        SELECT count(*) FROM moderation_imagecase c JOIN articles_image i ON i.id = c.image_id
        WHERE (c.state IN ('auto_blocked', 'blocked')) <> (i.visibility = 'blocked')
        """
    )[0][0]
    due_unblocked = rows(
        """
        SELECT count(*) FROM moderation_imagecase c
        JOIN articles_image i ON i.id = c.image_id
        JOIN articles_article a ON a.id = i.article_id
        LEFT JOIN moderation_policy ps ON ps.source_id = a.source_id
        LEFT JOIN moderation_policy pg ON pg.source_id IS NULL
        WHERE c.state IN ('flagged', 'restored') AND NOT c.protected
          AND c.brigade_held_at IS NULL
          AND c.open_report_count >= COALESCE(ps.threshold, pg.threshold, %s)
          AND c.score >= COALESCE(ps.threshold, pg.threshold, %s)
        """,
        [settings.REPORT_THRESHOLD, settings.REPORT_THRESHOLD],
    )[0][0]
    cases_by_state = dict(rows("SELECT state, count(*) FROM moderation_imagecase GROUP BY 1"))
    reports_by_outcome = dict(
        rows("SELECT outcome, count(*) FROM moderation_report GROUP BY 1 ORDER BY 2 DESC")
    )
    actions_by_kind = dict(
        rows("SELECT action, count(*) FROM moderation_moderationaction GROUP BY 1 ORDER BY 2 DESC")
    )
    strict_mismatch = count_mismatch
    return {
        "ok": not strict_mismatch
        and not twice
        and not walk_disagrees
        and not state_disagrees
        and not due_unblocked,
        "count_equals_open_reports": {
            "ok": not strict_mismatch,
            "mismatches_by_state": count_mismatch,
            "examples (image, state, count, open reports, score, open weight)": [
                [r[0], r[1], r[2], r[3], float(r[4]), float(r[5])] for r in mismatch_examples
            ],
            "note": "a confirmed case (state blocked) counts the upheld reports of its block",
        },
        "blocks_once_each": {
            "ok": not twice,
            "machine_blocks": machine_blocks,
            "reblocks_after_restore": reblocks,
            "restores": restores,
            "violations": twice[:10],
        },
        "blocks_agree_with_visibility": {"ok": not walk_disagrees, "images": walk_disagrees[:10]},
        "state_agrees_with_visibility": {"ok": not state_disagrees, "cases": state_disagrees},
        "due_but_not_blocked": due_unblocked,
        "cases_by_state": cases_by_state,
        "reports_by_outcome": reports_by_outcome,
        "actions_by_kind": actions_by_kind,
    }
