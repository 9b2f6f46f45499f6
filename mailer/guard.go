package mailer

import (
	"net/mail"
	"strings"
)

// automatedLocals are local parts of addresses that are machines, not people:
// answering them starts mail loops (RFC 3834 section 2).
var automatedLocals = []string{"mailer-daemon", "postmaster", "noreply", "no-reply", "no_reply",
	"donotreply", "do-not-reply", "do_not_reply", "bounce", "bounces", "auto-reply", "autoreply"}

// IsAutomatedAddress says whether addr belongs to a mail system or a sender
// that does not read replies (MAILER-DAEMON, no-reply …). Such addresses never
// get an automatic mail.
func IsAutomatedAddress(addr string) bool {
	a, err := mail.ParseAddress(addr)
	if err == nil {
		addr = a.Address
	}
	local, _, _ := strings.Cut(strings.ToLower(addr), "@")
	local, _, _ = strings.Cut(local, "+")
	for _, l := range automatedLocals {
		if local == l || strings.HasPrefix(local, l+"-") || strings.HasPrefix(local, l+".") {
			return true
		}
	}
	return strings.HasPrefix(local, "bounce-") || strings.HasPrefix(local, "bounces-")
}
