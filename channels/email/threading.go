package email

import (
	"regexp"
	"strconv"
	"strings"

	"golang.org/x/text/unicode/norm"
)

// parseMessageIDs returns the message ids in a Message-ID, In-Reply-To or
// References value, in order, without angle brackets and duplicates. It
// tolerates what mailers send: missing brackets, comments, phrases
// ("<id> (Bob's message of …)"), folding, commas.
func parseMessageIDs(v string) []string {
	v, _ = stripComments(v)
	var ids []string
	seen := map[string]bool{}
	add := func(id string) {
		id = normalizeMessageID(id)
		if id != "" && !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	if strings.Contains(v, "<") {
		for {
			lt := strings.IndexByte(v, '<')
			if lt < 0 {
				break
			}
			gt := strings.IndexByte(v[lt:], '>')
			if gt < 0 {
				add(v[lt+1:])
				break
			}
			add(v[lt+1 : lt+gt])
			v = v[lt+gt+1:]
		}
		return ids
	}
	for _, tok := range strings.FieldsFunc(v, func(r rune) bool { return r == ' ' || r == '\t' || r == ',' || r == '\r' || r == '\n' }) {
		if strings.Contains(tok, "@") {
			add(tok)
		}
	}
	return ids
}

// normalizeMessageID strips brackets and whitespace; case is kept because the
// left part of a Message-ID is case-sensitive.
func normalizeMessageID(id string) string {
	id = strings.TrimSpace(id)
	id = strings.TrimPrefix(id, "<")
	id = strings.TrimSuffix(id, ">")
	if strings.ContainsAny(id, " \t\r\n") {
		id = strings.Join(strings.Fields(id), "")
	}
	if strings.ContainsAny(id, "<>\"") || len(id) > 998 {
		return ""
	}
	return id
}

// ThreadIDs returns the message ids that may identify the thread this message
// belongs to, most specific first: In-Reply-To, then References from newest to
// oldest. Each id appears once.
func (p *Parsed) ThreadIDs() []string {
	ids := make([]string, 0, len(p.References)+1)
	seen := map[string]bool{}
	add := func(id string) {
		if id != "" && !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	add(p.InReplyTo)
	for i := len(p.References) - 1; i >= 0; i-- {
		add(p.References[i])
	}
	return ids
}

var ticketMarker = regexp.MustCompile(`(?i)\[\s*CT\s*-\s*([0-9]{1,18})\s*\]`)

// ExtractTicketMarker finds our ticket marker "[CT-123]" anywhere in a subject
// and returns the ticket number. Fullwidth forms typed by Japanese and Korean
// users ("［ＣＴ－１２３］") are folded first. The first marker wins: in
// "Re: [CT-12] Fwd: [CT-7]" the customer is replying in ticket 12.
func ExtractTicketMarker(subject string) (number int64, ok bool) {
	if subject == "" {
		return 0, false
	}
	m := ticketMarker.FindStringSubmatch(norm.NFKC.String(subject))
	if m == nil {
		return 0, false
	}
	n, err := strconv.ParseInt(m[1], 10, 64)
	if err != nil || n <= 0 {
		return 0, false
	}
	return n, true
}

// TicketTokenFromMessageID returns the ticket number encoded in a Message-ID
// that we generated. Our outgoing Message-IDs have the form
//
//	<ct-<ticketNumber>-<random>@<domain>>
//
// e.g. "<ct-123-k3j5h2g8a9@support.example.com>": "ct-" in lower case, the
// ticket number in decimal without leading zeros, "-", random [A-Za-z0-9]
// characters (16 are plenty), "@", our domain. The mailer must produce exactly
// this; replies carry it back in In-Reply-To/References even when customers
// edit the subject and drop the [CT-123] marker.
func TicketTokenFromMessageID(id string) (number int64, ok bool) {
	id = normalizeMessageID(id)
	local, _, found := strings.Cut(id, "@")
	if !found || len(local) < 3 || !strings.EqualFold(local[:3], "ct-") {
		return 0, false
	}
	num, random, found := strings.Cut(local[3:], "-")
	if !found || num == "" || random == "" || num[0] == '0' {
		return 0, false
	}
	for _, c := range random {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n <= 0 {
		return 0, false
	}
	return n, true
}
