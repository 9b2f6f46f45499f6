package email

import (
	"regexp"
	"strconv"
	"strings"
)

// SpamRule is a service's own spam verdict: mail whose Header carries a score
// at or above Threshold is spam (e.g. X-Spam-Score at 5). A zero rule uses
// only the standard flags.
type SpamRule struct {
	Header    string
	Threshold float64
}

var firstNumber = regexp.MustCompile(`[-+]?[0-9]+(?:\.[0-9]+)?`)

// SpamVerdict says why the receiving MTA flagged raw as spam, or "" when it
// did not: "X-Spam-Flag: YES", "X-Spam-Status: Yes, …" (SpamAssassin and
// compatible filters), or the rule's header with a score at or above its
// threshold (the first number in the field, so "6.3" and rspamd's
// "default: False [6.30 / 15.00]" both read 6.3).
//
// Only the topmost field of each name counts: the receiving MTA prepends its
// verdict, and fields further down were written by the sender or by relays
// before us.
func SpamVerdict(raw []byte, rule SpamRule) string {
	h, _ := readHeader(raw)
	if v := h.get("x-spam-flag"); strings.EqualFold(cleanToken(v), "yes") {
		return "X-Spam-Flag: " + v
	}
	if v := h.get("x-spam-status"); strings.HasPrefix(strings.ToLower(strings.TrimSpace(v)), "yes") {
		verdict, _, _ := strings.Cut(v, " tests=")
		return "X-Spam-Status: " + strings.TrimSpace(verdict)
	}
	if rule.Header == "" {
		return ""
	}
	v := h.get(strings.ToLower(rule.Header))
	score, err := strconv.ParseFloat(firstNumber.FindString(v), 64)
	if err != nil || score < rule.Threshold {
		return ""
	}
	return rule.Header + ": " + v + " (threshold " + strconv.FormatFloat(rule.Threshold, 'f', -1, 64) + ")"
}
