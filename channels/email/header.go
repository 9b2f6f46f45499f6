package email

import (
	"bytes"
	"strings"
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
	for len(b) > 0 {
		line, rest := cutLine(b)
		trimmed := bytes.TrimRight(line, "\r\n")
		if len(bytes.TrimSpace(trimmed)) == 0 && (len(trimmed) == 0 || len(h) == 0) {
			return h, rest // the blank line that ends the header
		}
		if trimmed[0] == ' ' || trimmed[0] == '\t' {
			if len(h) > 0 {
				last := &h[len(h)-1]
				last.value = joinFolded(last.value, string(bytes.TrimSpace(trimmed)))
			}
			b = rest
			first = false
			continue
		}
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

// joinFolded unfolds a continuation line. Folding whitespace is kept as a
// single space, except between two RFC 2047 words, where the decoder drops it.
func joinFolded(prev, next string) string {
	if next == "" {
		return prev
	}
	if prev == "" {
		return next
	}
	return prev + " " + next
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
