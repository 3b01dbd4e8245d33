DROP TABLE guest_sessions;
