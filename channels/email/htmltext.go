package email

import (
	"strings"
	"sync"

	"github.com/microcosm-cc/bluemonday"
	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// sanitizePolicy is bluemonday's UGC policy plus cid: links, so inline images
// still resolve against the attachments' Content-IDs. A policy is safe for
// concurrent use once built; building it compiles regexps, so it is built once.
var sanitizePolicy = sync.OnceValue(func() *bluemonday.Policy {
	p := bluemonday.UGCPolicy()
	p.AllowURLSchemes("mailto", "http", "https", "cid")
	return p
})

// sanitizeHTML makes an HTML body safe to display in the helpdesk UI.
func sanitizeHTML(s string) string {
	return sanitizePolicy().Sanitize(s)
}

// htmlToText renders an HTML body as plain text for tickets and reply
// extraction: block elements and <br> become line breaks, list items get
// "- ", links keep their target as "text (url)", blockquotes are prefixed with
// "> " so quote stripping works on HTML-only mail, and script/style/head are
// dropped. The HTML parser decodes entities.
func htmlToText(s string) string {
	doc, err := html.Parse(strings.NewReader(s))
	if err != nil {
		return ""
	}
	var r textRenderer
	r.walk(doc, 0)
	return tidyText(r.b.String())
}

type textRenderer struct {
	b       strings.Builder
	newline int // line breaks owed before the next text
	started bool
	pre     int
}

// breakLine asks for n line breaks (1: new line, 2: blank line) before the next text.
func (r *textRenderer) breakLine(n int) {
	if n > r.newline {
		r.newline = n
	}
}

func (r *textRenderer) text(s string) {
	if r.pre == 0 {
		s = collapseSpace(s)
		if s == "" || s == " " && (r.newline > 0 || !r.started || strings.HasSuffix(r.b.String(), " ")) {
			return
		}
	}
	if r.newline > 0 {
		if r.started {
			r.b.WriteString(strings.Repeat("\n", r.newline))
		}
		r.newline = 0
		if r.pre == 0 {
			s = strings.TrimLeft(s, " ")
		}
	}
	if s == "" {
		return
	}
	r.b.WriteString(s)
	r.started = true
}

func (r *textRenderer) walk(n *html.Node, depth int) {
	if depth > 200 {
		return // pathological nesting; html.Parse already caps most of it
	}
	switch n.Type {
	case html.TextNode:
		r.text(strings.ReplaceAll(n.Data, "\u00a0", " "))
		return
	case html.ElementNode:
	case html.DocumentNode:
		r.children(n, depth)
		return
	default:
		return
	}
	switch n.DataAtom {
	case atom.Script, atom.Style, atom.Head, atom.Title, atom.Noscript, atom.Template, atom.Object, atom.Iframe:
		return
	case atom.Br:
		r.b.WriteString(strings.Repeat("\n", r.newline))
		r.newline = 0
		r.b.WriteString("\n")
		r.started = true
		return
	case atom.Hr:
		r.breakLine(1)
		r.text("----")
		r.breakLine(1)
		return
	case atom.Li:
		r.breakLine(1)
		r.text("- ")
		r.children(n, depth)
		r.breakLine(1)
		return
	case atom.Td, atom.Th:
		r.children(n, depth)
		r.text(" ")
		return
	case atom.A:
		before := r.b.Len()
		r.children(n, depth)
		href := strings.TrimSpace(attr(n, "href"))
		label := strings.TrimSpace(r.b.String()[before:])
		if (strings.HasPrefix(href, "http://") || strings.HasPrefix(href, "https://") || strings.HasPrefix(href, "mailto:")) &&
			label != href && "mailto:"+label != href && label != "" {
			r.text(" (" + href + ")")
		}
		return
	case atom.Blockquote:
		var inner textRenderer
		inner.children(n, depth)
		quoted := tidyText(inner.b.String())
		r.breakLine(1)
		for _, line := range strings.Split(quoted, "\n") {
			r.breakLine(1)
			r.text("> " + line)
		}
		r.breakLine(1)
		return
	case atom.Pre:
		r.breakLine(1)
		r.pre++
		r.children(n, depth)
		r.pre--
		r.breakLine(1)
		return
	}
	if isBlock(n.DataAtom) {
		gap := 1
		if n.DataAtom == atom.P || isHeading(n.DataAtom) {
			gap = 2
		}
		r.breakLine(gap)
		r.children(n, depth)
		r.breakLine(gap)
		return
	}
	r.children(n, depth)
}

func (r *textRenderer) children(n *html.Node, depth int) {
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		r.walk(c, depth+1)
	}
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func isHeading(a atom.Atom) bool {
	switch a {
	case atom.H1, atom.H2, atom.H3, atom.H4, atom.H5, atom.H6:
		return true
	}
	return false
}

func isBlock(a atom.Atom) bool {
	switch a {
	case atom.P, atom.Div, atom.Ul, atom.Ol, atom.Dl, atom.Dt, atom.Dd, atom.Table, atom.Tr,
		atom.Thead, atom.Tbody, atom.Tfoot, atom.Caption, atom.Section, atom.Article, atom.Header,
		atom.Footer, atom.Nav, atom.Aside, atom.Main, atom.Address, atom.Center, atom.Form,
		atom.Fieldset, atom.Figure, atom.Figcaption, atom.Details, atom.Summary, atom.Body, atom.Html:
		return true
	}
	return isHeading(a)
}

// collapseSpace turns runs of HTML whitespace into one space.
func collapseSpace(s string) string {
	var b strings.Builder
	space := false
	for _, r := range s {
		if r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\f' {
			space = true
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(r)
	}
	if space {
		b.WriteByte(' ')
	}
	return b.String()
}

// tidyText trims trailing spaces on each line, keeps at most one blank line in
// a row, and trims the ends.
func tidyText(s string) string {
	lines := strings.Split(s, "\n")
	out := lines[:0]
	blank := 0
	for _, l := range lines {
		l = strings.TrimRight(l, " \t")
		if l == "" {
			blank++
			if blank > 1 {
				continue
			}
		} else {
			blank = 0
		}
		out = append(out, l)
	}
	return strings.TrimSpace(strings.Join(out, "\n"))
}
