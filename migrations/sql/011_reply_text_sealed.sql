-- Masking a span of a message masks its reply text (006) wherever the span's
-- text appears there; the reply text as it was before the first mask is kept
-- only sealed with the mask key, as the HTML is (html_sealed).
ALTER TABLE ticket_messages ADD COLUMN reply_sealed bytea;
