package email

import (
	"encoding/base64"
	"slices"
	"strings"
	"unicode/utf8"
)

// decodeHeaderText decodes a header value for display: RFC 2047 encoded words
// in any charset we know, and unencoded 8-bit or JIS text (sent by many
// Japanese and Korean mailers) through the same sniffing as bodies, with hint
// (the charset the message's text declares) tried after UTF-8.
//
// It is more tolerant than mime.WordDecoder on purpose: adjacent words in the
// same charset are joined before decoding, because mailers split multi-byte
// characters (and ISO-2022-JP shift states) across words; words glued to
// other text, words containing spaces and broken base64 padding are accepted.
func decodeHeaderText(s string, hint textHint) string {
	if !strings.Contains(s, "=?") {
		return decodeRawHeader(s, hint)
	}
	var out strings.Builder
	var pending []byte   // decoded bytes of adjacent words not yet charset-decoded
	var pendingCS string // their charset
	havePending := false
	flush := func() {
		if havePending {
			out.WriteString(decodeCharset(pending, pendingCS, hint.locale))
			pending, havePending = pending[:0], false
		}
	}
	for {
		start, end, cs, raw, ok := nextEncodedWord(s)
		if !ok {
			flush()
			out.WriteString(decodeRawHeader(s, hint))
			break
		}
		between := s[:start]
		if havePending && strings.TrimSpace(between) == "" {
			// Whitespace between two encoded words is not part of the text.
			if !strings.EqualFold(cs, pendingCS) {
				flush()
			}
		} else {
			flush()
			out.WriteString(decodeRawHeader(between, hint))
		}
		pending = append(pending, raw...)
		pendingCS, havePending = cs, true
		s = s[end:]
	}
	return out.String()
}

// nextEncodedWord finds the next "=?charset?B|Q?text?=" in s and returns its
// position, charset (without an RFC 2231 language) and decoded bytes.
func nextEncodedWord(s string) (start, end int, charset string, decoded []byte, ok bool) {
	offset := 0
	for {
		i := strings.Index(s[offset:], "=?")
		if i < 0 {
			return 0, 0, "", nil, false
		}
		i += offset
		rest := s[i+2:]
		q1 := strings.IndexByte(rest, '?')
		if q1 <= 0 || q1 > 64 || q1+3 > len(rest) || rest[q1+2] != '?' {
			offset = i + 2
			continue
		}
		cs := rest[:q1]
		if strings.ContainsAny(cs, " \t\"") {
			offset = i + 2
			continue
		}
		enc := rest[q1+1]
		text := rest[q1+3:]
		close := strings.Index(text, "?=")
		if close < 0 {
			return 0, 0, "", nil, false
		}
		text = text[:close]
		var b []byte
		switch enc {
		case 'B', 'b':
			b = decodeBase64Lenient([]byte(text))
		case 'Q', 'q':
			b = decodeQEncoding(text)
		default:
			offset = i + 2
			continue
		}
		if star := strings.IndexByte(cs, '*'); star >= 0 {
			cs = cs[:star]
		}
		return i, i + 2 + q1 + 3 + close + 2, cs, b, true
	}
}

// decodeQEncoding decodes RFC 2047 "Q" text: "_" is a space, "=XX" a byte;
// a malformed "=" is kept as it is.
func decodeQEncoding(s string) []byte {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '_':
			b = append(b, ' ')
		case c == '=' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			b = append(b, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
		default:
			b = append(b, c)
		}
	}
	return b
}

// decodeRawHeader decodes header text that is not RFC 2047 encoded: plain
// ASCII, UTF-8 (RFC 6532), or legacy 8-bit/JIS bytes sent unencoded.
func decodeRawHeader(s string, hint textHint) string {
	if isPlainASCII(s) {
		return s
	}
	b := []byte(s)
	if hasISO2022Escape(b) {
		return sniffCharset(b, hint.locale)
	}
	if utf8.Valid(b) {
		return toValidUTF8(b)
	}
	if hint.label != "" {
		if kind, _ := lookupCharset(hint.label); kind == kindEncoding {
			return decodeCharset(b, hint.label, hint.locale)
		}
	}
	return sniffCharset(b, hint.locale)
}

// isPlainASCII reports printable-ish 7-bit text without escape characters.
func isPlainASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 || s[i] == 0x1b {
			return false
		}
	}
	return true
}

// decodeBase64Lenient decodes base64 the way mail readers do: characters
// outside the alphabet (line breaks, spaces, junk) are ignored, padding may be
// missing, wrong, or appear in the middle where encoded chunks were
// concatenated, and a dangling final character is dropped.
func decodeBase64Lenient(src []byte) []byte {
	// The cleaned text is decoded a chunk at a time (a multiple of four
	// characters, so no quantum is split): a 25 MB attachment costs its
	// decoded bytes and 64 KiB, not a second copy of its text.
	const chunk = 64 << 10
	clean := make([]byte, 0, min(len(src), chunk))
	out := make([]byte, 0, len(src)*3/4+3)
	flush := func() {
		if len(clean)%4 == 1 {
			clean = clean[:len(clean)-1] // a lone sextet carries no whole byte
		}
		if len(clean) > 0 {
			n := base64.RawStdEncoding.DecodedLen(len(clean))
			out = slices.Grow(out, n)
			m, _ := base64.RawStdEncoding.Decode(out[len(out):len(out)+n], clean)
			out = out[:len(out)+m]
		}
		clean = clean[:0]
	}
	for _, c := range src {
		switch {
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '+', c == '/':
			clean = append(clean, c)
		case c == '-': // URL-safe alphabet, seen from some web mailers
			clean = append(clean, '+')
		case c == '_':
			clean = append(clean, '/')
		case c == '=' && len(clean)%4 != 0:
			flush() // padding ends a chunk; another may follow
		}
		if len(clean) == chunk {
			flush()
		}
	}
	flush()
	return out
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}
