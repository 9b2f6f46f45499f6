package email

import (
	"bytes"
	"regexp"
	"strings"
)

// decodeTransfer undoes a Content-Transfer-Encoding. Unknown encodings
// ("text/html" typed into the wrong header, …) leave the bytes as they are,
// which shows the reader something rather than nothing; x-uuencode parts are
// decoded into files by the walker (uuencode.go).
func decodeTransfer(cte string, body []byte) []byte {
	switch cleanToken(cte) {
	case "base64":
		return decodeBase64Lenient(body)
	case "quoted-printable":
		return decodeQuotedPrintable(body)
	default:
		return body
	}
}

// cleanToken lower-cases a header token and cuts what mailers append to it
// ("base64;", "Quoted-Printable (comment)").
func cleanToken(v string) string {
	v = strings.ToLower(strings.TrimSpace(v))
	if i := strings.IndexAny(v, " \t;(\"'"); i >= 0 {
		v = v[:i]
	}
	return v
}

// decodeQuotedPrintable decodes quoted-printable leniently: a malformed "="
// is kept literally (mime/quotedprintable returns an error and the rest of the
// body is lost), soft line breaks may have trailing whitespace, and trailing
// whitespace on hard line breaks is dropped as RFC 2045 says.
func decodeQuotedPrintable(b []byte) []byte {
	out := make([]byte, 0, len(b))
	for len(b) > 0 {
		line, rest := cutLine(b)
		b = rest
		hasEOL := bytes.HasSuffix(line, []byte("\n"))
		line = bytes.TrimRight(line, "\r\n")
		line = bytes.TrimRight(line, " \t")
		soft := bytes.HasSuffix(line, []byte("="))
		if soft {
			line = line[:len(line)-1]
		}
		for i := 0; i < len(line); i++ {
			c := line[i]
			if c == '=' && i+2 < len(line) && isHex(line[i+1]) && isHex(line[i+2]) {
				out = append(out, unhex(line[i+1])<<4|unhex(line[i+2]))
				i += 2
				continue
			}
			out = append(out, c)
		}
		if hasEOL && !soft {
			out = append(out, '\n')
		}
	}
	return out
}

var metaCharset = regexp.MustCompile(`(?i)<meta[^>]+charset\s*=\s*["']?\s*([a-z0-9_.:-]+)`)

// htmlMetaCharset finds a charset declared inside HTML, for HTML parts whose
// Content-Type has none.
func htmlMetaCharset(b []byte) string {
	if len(b) > 4096 {
		b = b[:4096]
	}
	if m := metaCharset.FindSubmatch(b); m != nil {
		return string(m[1])
	}
	return ""
}

// normalizeText turns decoded text into what we store: LF line endings, no
// byte-order mark, no NUL (PostgreSQL text cannot hold it).
func normalizeText(s string) string {
	s = strings.TrimPrefix(s, "\uFEFF")
	if strings.IndexByte(s, '\r') >= 0 {
		s = strings.ReplaceAll(s, "\r\n", "\n")
		s = strings.ReplaceAll(s, "\r", "\n")
	}
	if strings.IndexByte(s, 0) >= 0 {
		s = strings.ReplaceAll(s, "\x00", "")
	}
	return s
}
