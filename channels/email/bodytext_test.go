package email

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// attachmentSummary is what the interleaving tests compare of each attachment.
type attachmentSummary struct {
	Name, Type string
	Inline     bool
	Size       int
}

func summarize(p *Parsed) []attachmentSummary {
	out := []attachmentSummary{}
	for _, a := range p.Attachments {
		out = append(out, attachmentSummary{a.Filename, a.ContentType, a.Inline, len(a.Data)})
	}
	return out
}

// inOrder reports whether every piece occurs in s, each after the one before.
func inOrder(s string, pieces ...string) bool {
	for _, p := range pieces {
		i := strings.Index(s, p)
		if i < 0 {
			return false
		}
		s = s[i+len(p):]
	}
	return true
}

// TestInterleavedTextParts: Apple Mail and iOS write a message whose text is
// cut by inline images and files as several text parts; every one is text.
func TestInterleavedTextParts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file        string
		text        []string // in this order
		html        []string // in this order; nil: no HTML
		attachments []attachmentSummary
	}{
		{
			file: "apple_interleaved_plain.eml",
			text: []string{"this is what I see when I open the app:",
				"and after I press “Save” the invoice looks like this one:", "The total is wrong by 300 yen.", "Hanako"},
			attachments: []attachmentSummary{{"IMG_0042.jpeg", "image/jpeg", true, 22}, {"invoice-2026-11.pdf", "application/pdf", true, 45}},
		},
		{
			file: "apple_interleaved_html.eml",
			// The plain alternative is the whole text; the HTML side is three parts.
			text:        []string{"お世話になっております。 The screen:", "The bill:", "Regards, Hanako"},
			html:        []string{"The <b>screen</b>:", "The <i>bill</i>:", "Regards, Hanako"},
			attachments: []attachmentSummary{{"IMG_0043.png", "image/png", true, 33}, {"bill.pdf", "application/pdf", true, 45}},
		},
		{
			file:        "ios_related_interleaved.eml",
			text:        []string{"The hinge broke here:", "and the serial number is on the back.", "iPhone에서 보냄"},
			html:        []string{"The hinge broke here:", `src="cid:IMG-PART-1@example.kr"`, "and the serial number is on the back.", "iPhone에서 보냄"},
			attachments: []attachmentSummary{{"image0.jpeg", "image/jpeg", true, 22}, {"warranty.pdf", "application/pdf", false, 45}},
		},
	}
	for _, tt := range tests {
		t.Run(strings.TrimSuffix(tt.file, ".eml"), func(t *testing.T) {
			t.Parallel()
			p := parseFixture(t, tt.file)
			if !inOrder(p.Text, tt.text...) {
				t.Errorf("text lacks %q in order:\n%s", tt.text, p.Text)
			}
			if tt.html == nil && p.HTML != "" {
				t.Errorf("html = %q, want none", p.HTML)
			}
			if !inOrder(p.HTML, tt.html...) {
				t.Errorf("html lacks %q in order:\n%s", tt.html, p.HTML)
			}
			if diff := cmp.Diff(tt.attachments, summarize(p)); diff != "" {
				t.Errorf("attachments (-want +got):\n%s", diff)
			}
			// What mail parse prints: the same text and no unnamed attachment.
			b, err := p.JSON()
			if err != nil {
				t.Fatal(err)
			}
			var out struct {
				Text        string `json:"text"`
				Attachments []struct {
					Filename string `json:"filename"`
				} `json:"attachments"`
			}
			if err := json.Unmarshal(b, &out); err != nil {
				t.Fatal(err)
			}
			if out.Text != p.Text || len(out.Attachments) != len(tt.attachments) {
				t.Errorf("JSON: text %q, %d attachments", out.Text, len(out.Attachments))
			}
		})
	}
}

func TestTextPartsJoined(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, body  string
		text, html  string
		attachments int
	}{
		{
			name: "mixed plain and html siblings that say the same are alternatives",
			body: "Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\nHello there, the app crashes.\n" +
				"--b\nContent-Type: text/html\n\n<p>Hello there, the <b>app</b> crashes.</p>\n--b--\n",
			text: "Hello there, the app crashes.", html: "<p>Hello there, the <b>app</b> crashes.</p>",
		},
		{
			name: "an html-only part after a plain one that differs is more text",
			body: "Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\nSee the log below.\n" +
				"--b\nContent-Type: text/html\n\n<p>ERROR 42 at boot</p>\n--b--\n",
			text: "See the log below.\nERROR 42 at boot", html: "See the log below.\n<p>ERROR 42 at boot</p>",
		},
		{
			name: "a named text part is a file",
			body: "Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\nlog attached\n" +
				"--b\nContent-Type: text/plain\nContent-Disposition: inline; filename=app.log\n\nline 1\n--b--\n",
			text: "log attached", attachments: 1,
		},
		{
			name: "an attachment-disposition text part is a file",
			body: "Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\nhi\n" +
				"--b\nContent-Type: text/plain\nContent-Disposition: attachment\n\nfile\n--b--\n",
			text: "hi", attachments: 1,
		},
		{
			name: "a related resource with a Content-ID stays a resource",
			body: "Content-Type: multipart/related; boundary=b\n\n--b\nContent-Type: text/html\n\n<p>x</p>\n" +
				"--b\nContent-Type: text/html\nContent-ID: <frame@x>\n\n<p>framed</p>\n--b--\n",
			text: "x", html: "<p>x</p>", attachments: 1,
		},
		{
			name: "the unchosen alternative is not text twice",
			body: "Content-Type: multipart/alternative; boundary=b\n\n--b\nContent-Type: text/plain\n\none\n" +
				"--b\nContent-Type: text/plain; charset=utf-8\n\none again\n--b\nContent-Type: text/html\n\n<p>one</p>\n--b--\n",
			text: "one", html: "<p>one</p>",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := Parse([]byte("From: a@example.com\nSubject: s\n"+tt.body), ParseOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if p.Text != tt.text {
				t.Errorf("text = %q, want %q", p.Text, tt.text)
			}
			if p.HTML != tt.html {
				t.Errorf("html = %q, want %q", p.HTML, tt.html)
			}
			if len(p.Attachments) != tt.attachments {
				t.Errorf("%d attachments, want %d: %+v", len(p.Attachments), tt.attachments, summarize(p))
			}
		})
	}
}
