// Package testenv gives tests the addresses of the local services that
// scripts/services.sh starts. Under CI=true a missing service fails the test;
// elsewhere the test is skipped with the command that would start it.
package testenv

import (
	"os"
	"testing"
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
