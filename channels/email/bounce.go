package email

import (
	"regexp"
	"strings"
)

// FailedRecipient is a recipient a delivery report says could not be reached.
type FailedRecipient struct {
	Address    string `json:"address"`
	Status     string `json:"status,omitempty"`     // RFC 3463 code, e.g. "5.1.1"
	Diagnostic string `json:"diagnostic,omitempty"` // the remote server's words
}

// parseDeliveryStatus reads a message/delivery-status body (RFC 3464): a
// per-message block, then one block per recipient, separated by blank lines.
// Only recipients with "Action: failed" are returned; "delayed" and
// "delivered" reports are not failures.
func parseDeliveryStatus(b []byte) []FailedRecipient {
	var out []FailedRecipient
	_, rest := readHeader(b) // per-message fields: nothing we need
	for len(rest) > 0 {
		var h header
		h, rest = readHeader(rest)
		if len(h) == 0 || cleanToken(h.get("action")) != "failed" {
			continue
		}
		addr := afterType(h.get("final-recipient"))
		if addr == "" {
			addr = afterType(h.get("original-recipient"))
		}
		if addr == "" {
			continue
		}
		out = append(out, FailedRecipient{
			Address:    addr,
			Status:     firstWord(h.get("status")),
			Diagnostic: afterType(h.get("diagnostic-code")),
		})
	}
	return out
}

// afterType strips the address-type or diagnostic-type prefix ("rfc822;",
// "smtp;") from a DSN field, and angle brackets around an address.
func afterType(v string) string {
	if _, after, ok := strings.Cut(v, ";"); ok {
		v = after
	}
	v = strings.TrimSpace(v)
	if strings.HasPrefix(v, "<") && strings.HasSuffix(v, ">") {
		v = v[1 : len(v)-1]
	}
	return decodeRawHeader(v, textHint{})
}

var bounceSubject = regexp.MustCompile(`(?i)(delivery status notification|undeliver|returned mail|delivery failure|failure notice|mail delivery failed|delivery has failed|could not be delivered|non[- ]?delivery|not delivered|配信不能|配送失敗|전송 실패|반송)`)

// isNonStandardBounce recognises bounces sent as ordinary mail (qmail,
// older Exchange, many appliances): from MAILER-DAEMON or postmaster, with a
// subject that says so.
func isNonStandardBounce(from Address, subject string) bool {
	local, _, _ := strings.Cut(strings.ToLower(from.Address), "@")
	name := strings.ToLower(from.Name)
	sender := local == "mailer-daemon" || local == "postmaster" ||
		strings.Contains(name, "mailer-daemon") || strings.Contains(name, "mail delivery")
	return sender && bounceSubject.MatchString(subject)
}

var messageIDLine = regexp.MustCompile(`(?im)^\s*message-id:\s*(<[^>\s]+>)`)

// messageIDInText finds a quoted original's "Message-ID:" line in a bounce's
// text, which is where non-standard bounces put the returned headers.
func messageIDInText(text string) string {
	if m := messageIDLine.FindStringSubmatch(text); m != nil {
		return normalizeMessageID(m[1])
	}
	return ""
}

// failedRecipientsHeader reads Exim's X-Failed-Recipients.
func failedRecipientsHeader(h header) []FailedRecipient {
	var out []FailedRecipient
	for _, v := range h.values("x-failed-recipients") {
		for _, a := range parseAddressList(v, textHint{}) {
			out = append(out, FailedRecipient{Address: a.Address})
		}
	}
	return out
}

// firstWord returns the first whitespace-separated word of s ("5.1.1 (user
// unknown)" → "5.1.1"), or "".
func firstWord(s string) string {
	if f := strings.Fields(s); len(f) > 0 {
		return f[0]
	}
	return ""
}
