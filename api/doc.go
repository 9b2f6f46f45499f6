// Package api holds the worker's HTTP handlers for the outside world: the
// Dooray! webhook receiver (/webhooks/dooray/{organization}/{token}) and, beside it, the
// integration API under /api/v1. cmd mounts them next to /metrics, the health
// endpoints (Health: /healthz, /readyz) and the guarded dashboard (Dashboard).
package api
