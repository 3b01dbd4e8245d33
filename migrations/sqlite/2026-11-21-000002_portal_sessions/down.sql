DROP TABLE audit_events;
DROP TABLE portal_sessions;
