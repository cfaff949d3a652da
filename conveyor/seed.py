"""Sample `sessions` rows, generated inside PostgreSQL so a million take seconds."""

import asyncpg

# Every fifth note is awkward on purpose: commas and quotes, a line break,
# non-ASCII text and NULL, so exports prove their quoting on real data.
_SEED_SQL = """
INSERT INTO sessions (org_id, user_id, started_at, ended_at, duration_seconds, country,
                      device, page_views, landing_page, note)
SELECT $1,
       'user-' || (g % 50),
       t.started_at,
       t.started_at + make_interval(secs => t.duration),
       t.duration,
       (ARRAY['US', 'FR', 'DE', 'JP', 'BR', 'IN'])[1 + g % 6],
       (ARRAY['desktop', 'mobile', 'tablet'])[1 + g % 3],
       1 + g % 17,
       'https://app.example.com/pages/' || (g % 100)
           || '?utm_source=newsletter&utm_medium=email&utm_campaign=winter-' || (g % 97),
       CASE g % 5
           WHEN 0 THEN 'Said "hello, world", then left; came back later'
           WHEN 1 THEN E'first line\\nsecond line of a longer note'
           WHEN 2 THEN 'Zürich café ☕ 東京 — naïve façade, ünïcödé'
           WHEN 3 THEN NULL
           ELSE 'plain note without anything special in it at all'
       END
FROM generate_series(1, $2::int) AS g,
     LATERAL (SELECT now() - make_interval(secs => g::bigint * 37) AS started_at,
                     (g::bigint * 7919 % 3600)::int AS duration) AS t
"""


async def seed_sessions(dsn: str, org_id: str, count: int) -> int:
    """Inserts `count` sessions for `org_id`; returns how many were inserted."""
    connection = await asyncpg.connect(dsn)
    try:
        status = await connection.execute(_SEED_SQL, org_id, count)
    finally:
        await connection.close()
    return int(status.split()[-1])
