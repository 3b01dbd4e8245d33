DROP TABLE alert_triggers;
DROP TABLE alerts;
