// Package channels is the home of the intake channels (email today; phone, chat
// and help-center forms later). Each channel's package turns what arrives into
// messages the jobs package can thread into tickets, knowing nothing of tickets.
package channels
