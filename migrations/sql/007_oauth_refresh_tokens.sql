-- Refresh tokens of delegated OAuth2 logins (a mailbox, the SMTP account) kept
-- in the database, where workers on every machine see the latest rotation.
-- Sealed with a key derived from CONTIPLE_MASK_KEY (AES-256-GCM, the login as
-- associated data): never in clear.
CREATE TABLE oauth_refresh_tokens (
    login      text PRIMARY KEY,             -- "mailbox:support", "smtp"
    sealed     bytea NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
