DROP TABLE settings;
DROP TABLE message_events;
DROP TABLE messages;
DROP TABLE web_services;
