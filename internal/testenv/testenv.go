// Package testenv gives tests the addresses of the local services that
// scripts/services.sh starts. Under CI=true a missing service fails the test;
// elsewhere the test is skipped with the command that would start it.
package testenv

import (
	"os"
	"testing"
	"time"
)

// Lookup returns the value of the environment variable name, or ends the test:
// a failure under CI, a skip on a developer machine.
func Lookup(t testing.TB, name string) string {
	t.Helper()
	if v := os.Getenv(name); v != "" {
		return v
	}
	msg := name + " is not set: run `eval \"$(scripts/services.sh env)\"` after `scripts/services.sh up` (or use `make test`)"
	if os.Getenv("CI") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// DatabaseURL is the PostgreSQL URL of the test database.
func DatabaseURL(t testing.TB) string { return Lookup(t, "CONTIPLE_DATABASE_URL") }

// RedisURL is the Redis URL of the test Redis.
func RedisURL(t testing.TB) string { return Lookup(t, "CONTIPLE_REDIS_URL") }

// WaitFor polls cond until it holds, or fails the test after d naming what it
// waited for. It waits for things that happen in other goroutines or
// processes; it asserts nothing about speed (d is a generous deadline).
func WaitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up after %s waiting for %s", d, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
