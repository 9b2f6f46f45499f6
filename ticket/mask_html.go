package ticket

import (
	"html"
	"io"
	"strings"

	xhtml "golang.org/x/net/html"
)

// maskHTML masks each original in a message's HTML where it is written as
// text. When an original is still readable in the HTML's text afterwards
// (split by tags, written with character references), the HTML is dropped:
// the message then shows its masked text, and the HTML before the mask is
// kept only sealed.
func maskHTML(h string, originals []string) string {
	if h == "" {
		return h
	}
	for _, o := range originals {
		h = strings.ReplaceAll(h, html.EscapeString(o), strings.Repeat(string(MaskRune), len([]rune(o))))
	}
	text := squeeze(htmlText(h))
	for _, o := range originals {
		if strings.Contains(text, squeeze(o)) {
			return ""
		}
	}
	return h
}

// htmlText is the text of an HTML document, character references decoded and
// tags left out.
func htmlText(h string) string {
	var b strings.Builder
	z := xhtml.NewTokenizer(strings.NewReader(h))
	for {
		switch z.Next() {
		case xhtml.ErrorToken:
			if z.Err() == io.EOF {
				return b.String()
			}
			return b.String() + h // unreadable: keep every byte in view
		case xhtml.TextToken:
			b.Write(z.Text())
		}
	}
}

// squeeze removes white space, so that a line break or an extra space in the
// HTML does not hide a span from the check.
func squeeze(s string) string {
	return strings.Join(strings.Fields(s), "")
}
