-- A ticket waits for at most one Dooray! task at a time: a second escalation
-- (a double click, an API client retrying) while the first task does not exist
-- yet would otherwise create two tasks.
CREATE UNIQUE INDEX dooray_links_one_pending_idx ON dooray_links (ticket_id) WHERE post_id IS NULL;
