package email

import (
	"strings"
	"unicode/utf16"
)

// decodeUTF7 decodes RFC 2152 UTF-7, which Outlook 2000 still sends and x/text
// does not provide: "+" starts base64-encoded UTF-16, "-" (or any character
// outside the base64 alphabet) ends it, and "+-" is a literal "+".
func decodeUTF7(b []byte) string {
	var out strings.Builder
	out.Grow(len(b))
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c != '+' {
			if c < 0x80 {
				out.WriteByte(c)
			} else {
				out.WriteRune('\uFFFD')
			}
			continue
		}
		j := i + 1
		for j < len(b) && isBase64Char(b[j]) {
			j++
		}
		if j == i+1 {
			if j < len(b) && b[j] == '-' {
				out.WriteByte('+')
				i = j
			} else {
				out.WriteByte('+')
			}
			continue
		}
		raw := decodeBase64Lenient(b[i+1 : j])
		units := make([]uint16, 0, len(raw)/2)
		for k := 0; k+1 < len(raw); k += 2 {
			units = append(units, uint16(raw[k])<<8|uint16(raw[k+1]))
		}
		out.WriteString(string(utf16.Decode(units)))
		if j < len(b) && b[j] == '-' {
			j++ // the "-" that ends a shifted run is absorbed
		}
		i = j - 1
	}
	return out.String()
}

func isBase64Char(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/'
}
