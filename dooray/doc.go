// Package dooray is a typed client for the NHN Dooray! REST API (projects, workflows,
// posts, logs, files, hooks) with errors classified as retryable, permanent or ambiguous,
// rate-limit pacing shared across processes, and decoding of Dooray! webhook payloads.
package dooray
