DROP TABLE usage_rollups;
DROP TABLE usage_events;
DROP TABLE features;
