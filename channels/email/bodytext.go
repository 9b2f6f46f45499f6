package email

import (
	"html"
	"slices"
	"strings"
	"unicode"
)

// The message text is every inline text part, in document order. Apple Mail
// and iOS cut a text around each inline image or file into several text/plain
// parts (and the HTML alternative into several text/html parts), so "the
// first text part" loses the customer's words after the first picture.
//
// A section is one stretch of that text: a text/plain part, a text/html part,
// or a multipart/alternative whose plain and HTML sides say the same thing.
// Text joins the plain side of every section (text rendered from HTML where a
// section has none); HTML joins the HTML side (escaped text where a section
// has none), and is empty when no section has HTML.
type section struct {
	plain []string // decoded text/plain parts
	html  []string // decoded, unsanitised text/html parts
}

// plainSide is the section as text.
func (s section) plainSide() []string {
	if len(s.plain) > 0 {
		return s.plain
	}
	out := make([]string, 0, len(s.html))
	for _, h := range s.html {
		if t := htmlToText(h); t != "" {
			out = append(out, t)
		}
	}
	return out
}

// htmlSide is the section as HTML.
func (s section) htmlSide() []string {
	if len(s.html) > 0 {
		return s.html
	}
	out := make([]string, 0, len(s.plain))
	for _, p := range s.plain {
		out = append(out, strings.ReplaceAll(html.EscapeString(p), "\n", "<br>\n"))
	}
	return out
}

// alternativeSection merges the sections each alternative produced: the
// plain side from the first alternative with plain text, the HTML side from
// the last with HTML (RFC 2046: the last is the richest). The other
// alternatives are the same words again and are not repeated.
func alternativeSection(alternatives [][]section) (section, bool) {
	var merged section
	for _, secs := range alternatives {
		if merged.plain == nil && slices.ContainsFunc(secs, func(s section) bool { return len(s.plain) > 0 }) {
			for _, s := range secs {
				merged.plain = append(merged.plain, s.plainSide()...)
			}
		}
		if slices.ContainsFunc(secs, func(s section) bool { return len(s.html) > 0 }) {
			merged.html = merged.html[:0:0]
			for _, s := range secs {
				merged.html = append(merged.html, s.htmlSide()...)
			}
		}
	}
	return merged, merged.plain != nil || merged.html != nil
}

// sameWords reports whether a lone text/plain part and a lone text/html part
// that are siblings in a multipart/mixed are the same text: mailers that
// forget multipart/alternative send them so. Only the letters and digits of
// the start are compared; links, markup and spacing differ between the two.
func sameWords(plain, rawHTML string) bool {
	const n = 64
	return wordPrefix(plain, n) == wordPrefix(htmlToText(rawHTML), n)
}

func wordPrefix(s string, n int) string {
	var b strings.Builder
	for _, r := range s {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(r)
			if n--; n == 0 {
				break
			}
		}
	}
	return b.String()
}

// joinParts joins the decoded parts of one side, each starting on a new line.
func joinParts(parts []string, sep string) string {
	switch len(parts) {
	case 0:
		return ""
	case 1:
		return parts[0]
	}
	var b strings.Builder
	for i, p := range parts {
		if i > 0 && !strings.HasSuffix(parts[i-1], "\n") {
			b.WriteString(sep)
		}
		b.WriteString(p)
	}
	return b.String()
}
