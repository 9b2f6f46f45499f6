package email

import (
	"bytes"
	"strings"
	"unicode/utf8"
)

// field is one header field. The value keeps its original bytes (unfolded, but
// not yet charset-decoded) because unencoded 8-bit headers can only be decoded
// once we know what the message looks like.
type field struct {
	key   string // lower-case name
	value string
}

type header []field

// get returns the first value of the named field (name in lower case).
func (h header) get(key string) string {
	for _, f := range h {
		if f.key == key {
			return f.value
		}
	}
	return ""
}

func (h header) has(key string) bool {
	for _, f := range h {
		if f.key == key {
			return true
		}
	}
	return false
}

func (h header) values(key string) []string {
	var vs []string
	for _, f := range h {
		if f.key == key {
			vs = append(vs, f.value)
		}
	}
	return vs
}

// readHeader splits b into its header fields and body. It is deliberately more
// forgiving than RFC 5322 (and than go-message's textproto.ReadHeader, which
// stops at the first bad line): an mbox "From " line, lines with no colon and
// names with spaces are skipped rather than ending the header, a line starting
// with "--" ends a part header that lacks its blank line, and LF and CRLF
// endings are both accepted.
func readHeader(b []byte) (header, []byte) {
	h := make(header, 0, 16)
	first := true
	// The last field's folded value, joined once it is complete: joining
	// each continuation line as it comes would copy the value every time.
	var folded []byte
	unfold := func() {
		if folded != nil {
			h[len(h)-1].value = string(folded)
			folded = nil
		}
	}
	for len(b) > 0 {
		line, rest := cutLine(b)
		trimmed := bytes.TrimRight(line, "\r\n")
		if len(bytes.TrimSpace(trimmed)) == 0 && (len(trimmed) == 0 || len(h) == 0) {
			unfold()
			return h, rest // the blank line that ends the header
		}
		if trimmed[0] == ' ' || trimmed[0] == '\t' {
			if len(h) > 0 {
				if folded == nil {
					folded = []byte(h[len(h)-1].value)
				}
				folded = appendFolded(folded, bytes.TrimSpace(trimmed))
			}
			b = rest
			first = false
			continue
		}
		unfold()
		if bytes.HasPrefix(trimmed, []byte("--")) && !first {
			return h, b // a boundary: this part has no blank line after its header
		}
		colon := bytes.IndexByte(trimmed, ':')
		if colon > 0 {
			name := bytes.TrimRight(trimmed[:colon], " \t")
			if validFieldName(name) {
				h = append(h, field{
					key:   strings.ToLower(string(name)),
					value: string(bytes.TrimSpace(trimmed[colon+1:])),
				})
			}
		}
		// Anything else (mbox "From " line, garbage) is skipped.
		b = rest
		first = false
	}
	unfold()
	return h, nil
}

// cutLine returns the first line of b including its line ending, and the rest.
func cutLine(b []byte) (line, rest []byte) {
	i := bytes.IndexByte(b, '\n')
	if i < 0 {
		return b, nil
	}
	return b[:i+1], b[i+1:]
}

// appendFolded unfolds a continuation line. Folding whitespace is kept as a
// single space, except between two RFC 2047 words, where the decoder drops it.
func appendFolded(prev, next []byte) []byte {
	if len(next) == 0 {
		return prev
	}
	if len(prev) > 0 {
		prev = append(prev, ' ')
	}
	return append(prev, next...)
}

func validFieldName(name []byte) bool {
	if len(name) == 0 {
		return false
	}
	for _, c := range name {
		if c <= ' ' || c >= 0x7f {
			return false
		}
	}
	return true
}

// shiftJISPair reports whether s[i] starts a two-byte Shift_JIS character in
// header text sent as raw 8-bit bytes (raw: the text is not UTF-8). Its
// second byte may be 0x5C or another ASCII byte: in "ソ" (0x83 0x5C), "表"
// (0x95 0x5C) and "能" (0x94 0x5C) the 0x5C is no backslash, so it neither
// escapes the byte after it nor, before a '"', keeps a quoted string open.
// Quoted strings and display names are split before any charset is known,
// so this is decided on the bytes: a Shift_JIS lead byte and a byte that
// can follow one ('"' cannot).
func shiftJISPair(s string, i int, raw bool) bool {
	if !raw || i+1 >= len(s) {
		return false
	}
	lead, trail := s[i], s[i+1]
	return (lead >= 0x81 && lead <= 0x9f || lead >= 0xe0 && lead <= 0xfc) &&
		(trail >= 0x40 && trail <= 0x7e || trail >= 0x80 && trail <= 0xfc)
}

// rawText reports header text with 8-bit bytes that are not UTF-8.
func rawText(s string) bool {
	return !isPlainASCII(s) && !utf8.ValidString(s)
}
