package email

import (
	"strings"
)

// Address is a mailbox: a display name (decoded) and an address.
type Address struct {
	Name    string `json:"name"`
	Address string `json:"address"`
}

// parseAddressList reads an address header the way mail readers do, not the
// way RFC 5322 is written: net/mail rejects a whole list for one unquoted dot
// or stray character and then the sender is lost. Items are split on commas
// outside quotes, comments and angle brackets; group names ("team: a, b;")
// are dropped; "Name <a@b>", "a@b (Name)" and bare "a@b" are understood.
func parseAddressList(v, hint string) []Address {
	var out []Address
	for _, item := range splitAddressItems(v) {
		if a, ok := parseAddressItem(item, hint); ok {
			out = append(out, a)
		}
	}
	return out
}

func splitAddressItems(v string) []string {
	var items []string
	depthComment, inQuote, inAngle := 0, false, false
	start := 0
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case inQuote:
			if c == '\\' {
				i++
			} else if c == '"' {
				inQuote = false
			}
		case c == '"' && depthComment == 0:
			inQuote = true
		case c == '(':
			depthComment++
		case c == ')' && depthComment > 0:
			depthComment--
		case depthComment > 0:
		case c == '<':
			inAngle = true
		case c == '>':
			inAngle = false
		case (c == ',' || c == ';') && !inAngle:
			items = append(items, v[start:i])
			start = i + 1
		case c == ':' && !inAngle:
			// "group:" — what came before is the group's name, not a mailbox.
			if !strings.Contains(v[start:i], "@") {
				start = i + 1
			}
		}
	}
	return append(items, v[start:])
}

func parseAddressItem(item, hint string) (Address, bool) {
	item = strings.TrimSpace(item)
	if item == "" {
		return Address{}, false
	}
	var name, addr string
	if lt := lastUnquotedIndex(item, '<'); lt >= 0 {
		gt := strings.IndexByte(item[lt:], '>')
		if gt < 0 {
			addr = item[lt+1:]
		} else {
			addr = item[lt+1 : lt+gt]
		}
		name = item[:lt]
	} else {
		// "a@b (Name)" or a bare address.
		var comments []string
		addr, comments = stripComments(item)
		if len(comments) > 0 {
			name = strings.Join(comments, " ")
		}
		if !strings.Contains(addr, "@") {
			// No address at all ("To: Mary Smith"): keep the name only if
			// there is nothing better; a phrase is not a mailbox.
			return Address{}, false
		}
	}
	addr, _ = stripComments(addr)
	addr = strings.Join(strings.Fields(addr), "")
	addr = strings.TrimPrefix(strings.TrimPrefix(addr, "mailto:"), "MAILTO:")
	if i := strings.LastIndexByte(addr, ':'); i >= 0 && strings.HasPrefix(addr, "@") {
		addr = addr[i+1:] // obsolete source route "@a,@b:user@c"
	}
	name = cleanDisplayName(name, hint)
	if addr == "" && name == "" {
		return Address{}, false
	}
	return Address{Name: name, Address: decodeRawHeader(addr, hint)}, true
}

// cleanDisplayName unquotes a display name, drops comments' parentheses, and
// decodes RFC 2047 words, including those inside quotes where many mailers
// put them.
func cleanDisplayName(name, hint string) string {
	name = strings.TrimSpace(name)
	if name == "" {
		return ""
	}
	var b strings.Builder
	inQuote := false
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c == '\\' && i+1 < len(name):
			b.WriteByte(name[i+1])
			i++
		case c == '"':
			inQuote = !inQuote
		case !inQuote && (c == '(' || c == ')'):
			b.WriteByte(' ')
		default:
			b.WriteByte(c)
		}
	}
	s := decodeHeaderText(b.String(), hint)
	s = strings.Join(strings.Fields(s), " ")
	return strings.Trim(s, `'" `)
}

// stripComments removes (comments) outside quotes and returns them.
func stripComments(s string) (string, []string) {
	if !strings.Contains(s, "(") {
		return s, nil
	}
	var out strings.Builder
	var comments []string
	var cur strings.Builder
	depth, inQuote := 0, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case depth == 0 && c == '"':
			inQuote = !inQuote
			out.WriteByte(c)
		case inQuote:
			out.WriteByte(c)
		case c == '(':
			if depth > 0 {
				cur.WriteByte(c)
			}
			depth++
		case c == ')' && depth > 0:
			depth--
			if depth == 0 {
				if t := strings.TrimSpace(cur.String()); t != "" {
					comments = append(comments, t)
				}
				cur.Reset()
			} else {
				cur.WriteByte(c)
			}
		case depth > 0:
			cur.WriteByte(c)
		default:
			out.WriteByte(c)
		}
	}
	return out.String(), comments
}

func lastUnquotedIndex(s string, c byte) int {
	idx, inQuote := -1, false
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '\\' && inQuote:
			i++
		case s[i] == '"':
			inQuote = !inQuote
		case s[i] == c && !inQuote:
			idx = i
		}
	}
	return idx
}
