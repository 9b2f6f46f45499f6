-- Dooray! organisations: every link and poll cursor belongs to one, named by
-- the key of dooray.organizations in the configuration ('default' is the old
-- single dooray block). Ids of different organisations (clouds) may collide,
-- so the organisation is part of every key.
ALTER TABLE dooray_links ADD COLUMN organization text NOT NULL DEFAULT 'default';
ALTER TABLE dooray_links DROP CONSTRAINT dooray_links_project_id_post_id_key;
ALTER TABLE dooray_links ADD CONSTRAINT dooray_links_org_project_post_key UNIQUE (organization, project_id, post_id);
CREATE INDEX dooray_links_org_post_idx ON dooray_links (organization, post_id) WHERE post_id IS NOT NULL;

ALTER TABLE dooray_sync_cursors ADD COLUMN organization text NOT NULL DEFAULT 'default';
ALTER TABLE dooray_sync_cursors DROP CONSTRAINT dooray_sync_cursors_pkey;
ALTER TABLE dooray_sync_cursors ADD PRIMARY KEY (organization, project_id);
-- The poll's check for tasks that left the project (deleted, moved away):
-- how many of the bot's tasks there are not ours (Dooray!'s count minus our
-- links) when it last agreed; NULL until the first check.
ALTER TABLE dooray_sync_cursors ADD COLUMN unlinked_tasks bigint;

-- One run at a time of an escalation's find-and-create (key escalation:<link>)
-- and of a comment's (comment:<message>). A lease, not a session lock: a run
-- holds no connection while it waits on Dooray!, and a dead worker's lease
-- runs out.
CREATE TABLE dooray_leases (
    key    text PRIMARY KEY,
    owner  text NOT NULL,
    until  timestamptz NOT NULL
);
