// Package migrations holds the numbered SQL migrations of the database, embedded
// in the binary, and Up, which applies the pending ones under an advisory lock so
// that running it twice, or from two processes at once, is harmless.
package migrations
