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
// are dropped; "Name <a@b>", "a@b (Name)" and bare "a@b" are understood, and
// so are several mailboxes with no comma between them, doubled or unclosed
// angle brackets, and quoted local parts.
func parseAddressList(v string, hint textHint) []Address {
	var out []Address
	for _, item := range splitAddressItems(v) {
		out = append(out, parseAddressItem(item, hint)...)
	}
	return out
}

// firstValid is the sender among the mailboxes of a From field: the first
// with a local part and a domain, else the first at all ("MAILER-DAEMON").
func firstValid(list []Address) (Address, bool) {
	for _, a := range list {
		if a.valid() {
			return a, true
		}
	}
	if len(list) > 0 {
		return list[0], true
	}
	return Address{}, false
}

// valid reports an address with a local part (a dot-atom or a whole quoted
// string) and a domain.
func (a Address) valid() bool {
	at := strings.LastIndexByte(a.Address, '@')
	if at <= 0 || at == len(a.Address)-1 || strings.ContainsAny(a.Address[at+1:], `"<>()[]\,;: `) {
		return false
	}
	local := a.Address[:at]
	if local[0] == '"' {
		return len(local) > 1 && local[len(local)-1] == '"' && skipQuoted(local, 0, rawText(local)) == len(local)
	}
	return isDotAtom(local)
}

func splitAddressItems(v string) []string {
	var items []string
	depthComment, inQuote, inAngle := 0, false, false
	start := 0
	raw := rawText(v)
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case shiftJISPair(v, i, raw):
			i++
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

// addrToken is a piece of one address item.
type addrToken struct {
	kind byte   // 'w' word (quoted strings included), 'c' comment, 'a' angle address
	text string // a comment or angle address without its delimiters
}

// tokenizeAddress cuts an item into words, comments and angle addresses.
// Doubled angle brackets count as one pair, an unclosed one runs to the end,
// and a stray ">" or ")" is dropped.
func tokenizeAddress(s string) []addrToken {
	var toks []addrToken
	raw := rawText(s)
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '>' || c == ')':
			i++ // a stray closing bracket is dropped
		case c == '(':
			end := skipComment(s, i)
			text := s[i+1 : end]
			if s[end-1] == ')' && end-1 > i {
				text = s[i+1 : end-1]
			}
			toks = append(toks, addrToken{'c', strings.TrimSpace(text)})
			i = end
		case c == '<':
			for i < len(s) && s[i] == '<' {
				i++
			}
			start := i
			i = scanAddressPart(s, i, raw, "<>")
			toks = append(toks, addrToken{'a', s[start:i]})
		default:
			start := i
			i = scanAddressPart(s, i, raw, " \t\r\n<>()")
			toks = append(toks, addrToken{'w', s[start:i]})
		}
	}
	return toks
}

// scanAddressPart returns where the part of s starting at i ends: at the
// first byte of stop outside a quoted string and a Shift_JIS pair, or at the end.
func scanAddressPart(s string, i int, raw bool, stop string) int {
	for i < len(s) && strings.IndexByte(stop, s[i]) < 0 {
		if s[i] == '"' {
			i = skipQuoted(s, i, raw) - 1
		} else if shiftJISPair(s, i, raw) {
			i++
		}
		i++
	}
	return min(i, len(s))
}

// skipQuoted returns the index after the quoted string that starts at i.
func skipQuoted(s string, i int, raw bool) int {
	for j := i + 1; j < len(s); j++ {
		if shiftJISPair(s, j, raw) {
			j++
			continue
		}
		switch s[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return len(s)
}

// skipComment returns the index after the (nested) comment that starts at i.
func skipComment(s string, i int) int {
	depth := 0
	for j := i; j < len(s); j++ {
		switch s[j] {
		case '\\':
			j++
		case '(':
			depth++
		case ')':
			if depth--; depth == 0 {
				return j + 1
			}
		}
	}
	return len(s)
}

// hasBareAt reports an "@" outside quotes: the word is an address.
func hasBareAt(w string) bool {
	raw := rawText(w)
	for i := 0; i < len(w); i++ {
		switch w[i] {
		case '"':
			i = skipQuoted(w, i, raw) - 1
		case '@':
			return true
		}
	}
	return false
}

// parseAddressItem reads the mailboxes of one comma-separated item: usually
// one, but mailers also write "a@b c@d" and "A <a@b> B <b@c>". Words before
// an angle address are its display name (an address there too, as in
// "a@b <a@b>"); a bare address takes the words before it, or the comment
// after it ("a@b (Name)"), as its name. A lone word with a comment is the
// old local form "MAILER-DAEMON (Mail Delivery System)"; a phrase alone is
// not a mailbox.
func parseAddressItem(item string, hint textHint) []Address {
	toks := tokenizeAddress(item)
	var out []Address
	var phrase []string
	bare, bareSpec := -1, "" // the last bare address, while a comment may name it or a dot continue it
	for i, t := range toks {
		switch {
		case t.kind == 'a':
			out = append(out, newAddress(strings.Join(phrase, " "), t.text, hint))
			phrase, bare = nil, -1
		case t.kind == 'c' && bare >= 0 && out[bare].Name == "":
			out[bare].Name = cleanDisplayName(t.text, hint)
			bare = -1
		case t.kind == 'c':
			phrase = append(phrase, "("+t.text+")")
		case bare >= 0 && !hasBareAt(t.text) && (strings.HasPrefix(t.text, ".") || strings.HasSuffix(bareSpec, ".")):
			// Obsolete spaces around a dot: "jdoe@test . example".
			bareSpec += t.text
			out[bare].Address = cleanAddrSpec(bareSpec, hint)
		case hasBareAt(t.text) && (i+1 == len(toks) || toks[i+1].kind != 'a'):
			out = append(out, newAddress(strings.Join(phrase, " "), t.text, hint))
			phrase, bare, bareSpec = nil, len(out)-1, t.text
		default:
			phrase = append(phrase, t.text)
			bare = -1
		}
	}
	if len(out) == 0 && len(toks) == 2 && toks[0].kind == 'w' && toks[1].kind == 'c' && toks[1].text != "" {
		out = append(out, Address{Name: cleanDisplayName(toks[1].text, hint), Address: cleanAddrSpec(toks[0].text, hint)})
	}
	return dropEmpty(out)
}

func newAddress(name, spec string, hint textHint) Address {
	return Address{Name: cleanDisplayName(name, hint), Address: cleanAddrSpec(spec, hint)}
}

func dropEmpty(list []Address) []Address {
	out := list[:0]
	for _, a := range list {
		if a.Address != "" || a.Name != "" {
			out = append(out, a)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// cleanAddrSpec normalises an addr-spec: comments, folding whitespace and
// stray brackets outside quotes go, "mailto:" and an obsolete source route are cut, and a
// quoted local part loses quotes it does not need ("john.doe"@x is
// john.doe@x; "a b"@x keeps them).
func cleanAddrSpec(spec string, hint textHint) string {
	spec, _ = stripComments(spec)
	raw := rawText(spec)
	var b strings.Builder
	for i := 0; i < len(spec); i++ {
		switch c := spec[i]; {
		case c == '"':
			end := skipQuoted(spec, i, raw)
			if end-i < 2 || spec[end-1] != '"' {
				continue // an unclosed quote is dropped, not the rest taken as quoted
			}
			b.WriteString(spec[i:end])
			i = end - 1
		case c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '(' || c == ')' || c == '<' || c == '>':
		default:
			b.WriteByte(c)
		}
	}
	addr := b.String()
	if len(addr) >= 7 && strings.EqualFold(addr[:7], "mailto:") {
		addr = addr[7:]
	}
	if i := strings.LastIndexByte(addr, ':'); i >= 0 && strings.HasPrefix(addr, "@") {
		addr = addr[i+1:] // obsolete source route "@a,@b:user@c"
	}
	if strings.HasPrefix(addr, `"`) {
		if end := skipQuoted(addr, 0, rawText(addr)); end < len(addr) && addr[end] == '@' {
			local := addr[1 : end-1]
			if isDotAtom(local) {
				addr = local + addr[end:]
			}
		}
	}
	return decodeRawHeader(addr, hint)
}

// isDotAtom reports a local part that needs no quotes (RFC 5322 dot-atom).
func isDotAtom(s string) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' || strings.Contains(s, "..") {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '.' && (c <= ' ' || c >= 0x7f || strings.IndexByte(`()<>[]:;@\,"`, c) >= 0) {
			return false
		}
	}
	return true
}

// cleanDisplayName unquotes a display name, drops comments' parentheses, and
// decodes RFC 2047 words, including those inside quotes where many mailers
// put them.
func cleanDisplayName(name string, hint textHint) string {
	name = strings.TrimSpace(name)
	if name == "" {
		return ""
	}
	var b strings.Builder
	inQuote := false
	raw := rawText(name)
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case shiftJISPair(name, i, raw):
			b.WriteString(name[i : i+2])
			i++
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
