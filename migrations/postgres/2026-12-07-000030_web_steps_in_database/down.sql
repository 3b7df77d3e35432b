DROP TABLE pending_imports;
DROP TABLE parked_callbacks;
DROP TABLE login_throttle;
