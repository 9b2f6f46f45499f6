// Package demo is `contiple-worker demo`: the local services of
// scripts/services.sh, Dooray! fakes on loopback, the worker in-process (given
// by cmd), and a story told as it really happens, each step waiting for the
// real state in PostgreSQL, Dovecot and the fakes. cmd's TestDemoStory runs the
// same story and asserts it.
package demo
