-- PostgreSQL support begins with schema version 2, whose migration creates the whole schema.
-- Version 1 is recorded so that both backends count their versions alike.
SELECT 1;
