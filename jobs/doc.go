// Package jobs is the task catalogue of the worker (asynq task types, typed
// payloads, constructors), their handlers, the metrics around them, and the
// outbox relay that turns committed state changes into tasks.
package jobs
