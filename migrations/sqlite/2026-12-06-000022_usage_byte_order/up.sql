-- Nothing to change on SQLite: it compares text byte by byte already (see migrations/postgres).
SELECT 1;
