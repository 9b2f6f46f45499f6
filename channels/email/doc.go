// Package email turns raw inbound mail (RFC 5322/MIME bytes) into a Parsed message:
// decoded headers and bodies in every charset customers use, attachments, reply text
// without quoted history, auto-reply/bounce flags and threading keys. It knows nothing about tickets.
package email
