// Package ticket is the helpdesk domain: tickets, their statuses and the state
// machine that moves them, the processing history and events, and the pgx Store
// whose every operation is one transaction that also writes the outbox row it owes.
package ticket
