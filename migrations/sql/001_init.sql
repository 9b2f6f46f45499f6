-- The whole schema of the first release. PostgreSQL owns the truth; Redis only carries work.

-- A helpdesk service (サービス): synced from the configuration by `serve`.
CREATE TABLE services (
    key         text PRIMARY KEY,
    name        text NOT NULL,
    address     text NOT NULL,            -- the support address customers write to
    locale      text NOT NULL DEFAULT 'ja',
    settings    jsonb NOT NULL DEFAULT '{}', -- Dooray! project and members, mail settings
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- The IMAP account of a service, and how far intake has got in it. Passwords are
-- never stored: the configuration names the environment variable or file.
CREATE TABLE mailboxes (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    service_key    text NOT NULL REFERENCES services (key) ON DELETE CASCADE,
    name           text NOT NULL UNIQUE,
    host           text NOT NULL,
    port           int  NOT NULL,
    username       text NOT NULL,
    folder         text NOT NULL DEFAULT 'INBOX',
    uidvalidity    bigint,                -- of the folder when last seen
    last_uid       bigint NOT NULL DEFAULT 0, -- highest UID stored in inbound_mails
    last_fetch_at  timestamptz,
    last_error     text
);

CREATE TABLE mail_templates (
    service_key text NOT NULL REFERENCES services (key) ON DELETE CASCADE,
    kind        text NOT NULL CHECK (kind IN ('resolve', 'hold')),
    locale      text NOT NULL,
    subject     text NOT NULL,
    text_body   text NOT NULL,
    html_body   text NOT NULL DEFAULT '',
    PRIMARY KEY (service_key, kind, locale)
);

CREATE TABLE forbidden_words (
    service_key text NOT NULL REFERENCES services (key) ON DELETE CASCADE,
    word        text NOT NULL,
    PRIMARY KEY (service_key, word)
);

CREATE TABLE tickets (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, -- the ticket number, [CT-<id>]
    service_key      text NOT NULL REFERENCES services (key),
    subject          text NOT NULL,
    status           text NOT NULL DEFAULT 'unassigned' CHECK (status IN (
                         'unassigned', 'in_progress', 'on_hold', 'issue_transferring', 'issue_answered',
                         'dooray_transferred', 'dooray_in_progress', 'dooray_answered',
                         'resolved', 'completed', 'spam')),
    priority         text NOT NULL DEFAULT 'normal' CHECK (priority IN ('low', 'normal', 'high', 'urgent')),
    channel          text NOT NULL CHECK (channel IN ('email', 'phone', 'chat', 'helpcenter', 'created')),
    customer_name    text NOT NULL DEFAULT '',
    customer_email   text NOT NULL DEFAULT '',
    assignee         text NOT NULL DEFAULT '',
    operator_group   text NOT NULL DEFAULT '',
    starred          boolean NOT NULL DEFAULT false,
    source_ticket_id bigint REFERENCES tickets (id) ON DELETE SET NULL, -- issue transfer: where it came from
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    resolved_at      timestamptz,
    completed_at     timestamptz
);
CREATE INDEX tickets_status_idx ON tickets (status, service_key);
CREATE INDEX tickets_created_idx ON tickets (created_at);
CREATE INDEX tickets_resolved_idx ON tickets (resolved_at) WHERE resolved_at IS NOT NULL;
CREATE INDEX tickets_customer_idx ON tickets (lower(customer_email));

-- The raw mail of intake. (mailbox, uidvalidity, uid) is the idempotency key;
-- the raw message stays for re-processing, and mail that cannot be parsed waits
-- here with its error instead of being lost.
CREATE TABLE inbound_mails (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    mailbox_id    bigint NOT NULL REFERENCES mailboxes (id) ON DELETE CASCADE,
    uidvalidity   bigint NOT NULL,
    uid           bigint NOT NULL,
    message_id    text NOT NULL DEFAULT '',
    content_hash  text NOT NULL,          -- sha256 of raw, hex
    raw           bytea NOT NULL,
    size          int NOT NULL,
    state         text NOT NULL DEFAULT 'received' CHECK (state IN ('received', 'processed', 'ignored', 'failed', 'duplicate')),
    error         text NOT NULL DEFAULT '',
    ticket_id     bigint REFERENCES tickets (id) ON DELETE SET NULL,
    received_at   timestamptz NOT NULL DEFAULT now(),
    processed_at  timestamptz,
    acked_at      timestamptz,            -- flagged/moved/deleted on the server
    UNIQUE (mailbox_id, uidvalidity, uid)
);
CREATE INDEX inbound_mails_dedup_idx ON inbound_mails (message_id, content_hash);
CREATE INDEX inbound_mails_state_idx ON inbound_mails (state) WHERE state <> 'processed';

-- The processing history (相談処理内訳): customer mail, replies, notes, Dooray! comments.
CREATE TABLE ticket_messages (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ticket_id        bigint NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    kind             text NOT NULL CHECK (kind IN (
                         'customer', 'resolve', 'hold', 'comment', 'internal_resolve',
                         'escalation', 'dooray_out', 'dooray_in', 'issue_transfer', 'system')),
    author           text NOT NULL DEFAULT '',
    body             text NOT NULL DEFAULT '',
    html             text NOT NULL DEFAULT '',
    mail_message_id  text,                -- Message-ID, for threading
    in_reply_to      text,
    refs             text[] NOT NULL DEFAULT '{}',
    inbound_mail_id  bigint REFERENCES inbound_mails (id) ON DELETE SET NULL,
    dooray_log_id    text,                -- the Dooray! comment this is, either way
    html_sealed      bytea,               -- the HTML before masking, sealed (see message_masks)
    created_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ticket_messages_ticket_idx ON ticket_messages (ticket_id, id);
CREATE INDEX ticket_messages_mail_id_idx ON ticket_messages (mail_message_id) WHERE mail_message_id IS NOT NULL;
CREATE UNIQUE INDEX ticket_messages_dooray_log_idx ON ticket_messages (ticket_id, dooray_log_id) WHERE dooray_log_id IS NOT NULL;
CREATE UNIQUE INDEX ticket_messages_inbound_idx ON ticket_messages (inbound_mail_id) WHERE inbound_mail_id IS NOT NULL;

-- Masked spans of a message (個人情報マスキング). The message text holds the mask;
-- the original span is kept only sealed with AES-GCM (nonce || ciphertext), or
-- not at all when no key was configured.
CREATE TABLE message_masks (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    message_id  bigint NOT NULL REFERENCES ticket_messages (id) ON DELETE CASCADE,
    start_pos   int NOT NULL CHECK (start_pos >= 0), -- in characters (runes)
    end_pos     int NOT NULL CHECK (end_pos > start_pos),
    sealed      bytea,
    masked_by   text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX message_masks_message_idx ON message_masks (message_id);

-- Attachments, content-addressed: one row per distinct content.
CREATE TABLE attachments (
    sha256        text PRIMARY KEY,
    size          bigint NOT NULL,
    content_type  text NOT NULL DEFAULT 'application/octet-stream',
    data          bytea NOT NULL
);
CREATE TABLE message_attachments (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    message_id    bigint NOT NULL REFERENCES ticket_messages (id) ON DELETE CASCADE,
    sha256        text NOT NULL REFERENCES attachments (sha256),
    filename      text NOT NULL DEFAULT '',
    content_type  text NOT NULL DEFAULT '',
    content_id    text NOT NULL DEFAULT '',
    inline        boolean NOT NULL DEFAULT false
);
CREATE INDEX message_attachments_message_idx ON message_attachments (message_id);

-- Every creation, assignment and change (イベント).
CREATE TABLE ticket_events (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ticket_id    bigint NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    kind         text NOT NULL,
    actor        text NOT NULL DEFAULT '',
    from_status  text NOT NULL DEFAULT '',
    to_status    text NOT NULL DEFAULT '',
    data         jsonb NOT NULL DEFAULT '{}',
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ticket_events_ticket_idx ON ticket_events (ticket_id, id);

-- Each customer mail we owe, one per ticket action: the idempotency record of sending.
CREATE TABLE outbound_mails (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ticket_id         bigint NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    ticket_message_id bigint NOT NULL UNIQUE REFERENCES ticket_messages (id) ON DELETE CASCADE,
    kind              text NOT NULL CHECK (kind IN ('resolve', 'hold')),
    recipient         text NOT NULL,
    mail_message_id   text NOT NULL UNIQUE, -- our Message-ID, fixed before the first attempt
    state             text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sending', 'sent', 'failed', 'suppressed')),
    attempts          int NOT NULL DEFAULT 0,
    last_error        text NOT NULL DEFAULT '',
    created_at        timestamptz NOT NULL DEFAULT now(),
    sent_at           timestamptz
);

-- Addresses that bounced: never mailed automatically again until cleared.
CREATE TABLE failing_addresses (
    address     text PRIMARY KEY,         -- lower case
    reason      text NOT NULL DEFAULT '',
    ticket_id   bigint REFERENCES tickets (id) ON DELETE SET NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- A ticket's Dooray! task. One row per escalation; post_id is set once the task exists.
CREATE TABLE dooray_links (
    id                    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ticket_id             bigint NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    escalation_message_id bigint NOT NULL UNIQUE REFERENCES ticket_messages (id) ON DELETE CASCADE,
    project_id            text NOT NULL,
    post_id               text,
    workflow_class        text NOT NULL DEFAULT '',
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now(),
    UNIQUE (ticket_id, post_id),
    UNIQUE (project_id, post_id)
);

-- How far the poll of each Dooray! project has read (updatedAt of the newest change seen).
CREATE TABLE dooray_sync_cursors (
    project_id  text PRIMARY KEY,
    cursor      timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- Side effects owed, written in the same transaction as the state change. The relay
-- enqueues each row as an asynq task with TaskID outbox:<id>, so a crash between
-- enqueue and marking never makes a second task. kind is the asynq task type.
CREATE TABLE outbox (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind         text NOT NULL,
    payload      jsonb NOT NULL,
    ticket_id    bigint REFERENCES tickets (id) ON DELETE SET NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    enqueued_at  timestamptz
);
CREATE INDEX outbox_pending_idx ON outbox (id) WHERE enqueued_at IS NULL;

-- Wake the relay on every new row, whoever writes it.
CREATE FUNCTION outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('contiple_outbox', NEW.id::text);
    RETURN NEW;
END $$;
CREATE TRIGGER outbox_notify AFTER INSERT ON outbox FOR EACH ROW EXECUTE FUNCTION outbox_notify();

-- Round-robin position of each trigger that assigns in sequence.
CREATE TABLE trigger_cursors (
    service_key  text NOT NULL REFERENCES services (key) ON DELETE CASCADE,
    trigger_name text NOT NULL,
    next_index   int NOT NULL DEFAULT 0,
    PRIMARY KEY (service_key, trigger_name)
);
