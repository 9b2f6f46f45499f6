// Package email is the email channel. It knows nothing about tickets.
//
// Parsing: Parse turns raw inbound mail (RFC 5322/MIME bytes) into a Parsed
// message: decoded headers and bodies in every charset customers use,
// attachments, reply text without quoted history, auto-reply/bounce flags and
// threading keys; Parsed.Message gives the channel-neutral channels.Message.
//
// Intake: Dial opens an IMAP mailbox (go-imap/v2; TLS, STARTTLS or plain;
// AUTHENTICATE PLAIN or LOGIN) and selects its folder. Fetch hands over every
// message above a UID with BODY.PEEK[] (no \Seen), leaving huge ones unread;
// Ack flags, moves or deletes once the caller has committed them; Wait blocks
// with IDLE (or a poll) until new mail. The caller keeps UIDVALIDITY and the
// last UID (see jobs.MailPoll).
package email
