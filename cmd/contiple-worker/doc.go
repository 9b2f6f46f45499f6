// Command contiple-worker is the helpdesk integration worker: it serves the asynq
// workers, the outbox relay and the HTTP endpoints, migrates the database, and
// gives operators a CLI over tickets and mail. It is the only place that wires.
package main
