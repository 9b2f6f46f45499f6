package email

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestUuencode: Outlook Express (uuencode setting) puts files as begin/end
// blocks after the text; Pegasus Mail and others label parts x-uuencode.
func TestUuencode(t *testing.T) {
	t.Parallel()
	p := parseFixture(t, "uuencode_in_text.eml")
	if !strings.Contains(p.Text, "I was charged twice") || strings.Contains(p.Text, "begin ") ||
		strings.Contains(p.Text, "\nend") || strings.Contains(p.Text, "M3W)D") {
		t.Errorf("text still holds the uuencoded blocks or lost its words:\n%s", p.Text)
	}
	var got []string
	for _, a := range p.Attachments {
		got = append(got, a.Filename+" "+a.ContentType+" "+string(a.Data[:min(len(a.Data), 10)]))
	}
	want := []string{"statement.txt text/plain Order 4711", "photo.jpg image/jpeg \xff\xd8\xff\xe0\x00\x10JFIF"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("attachments (-want +got):\n%s", diff)
	}
	if a := p.Attachments[0]; a.Size != 129 || len(a.SHA256) != 64 {
		t.Errorf("statement.txt: size %d, sha %q", a.Size, a.SHA256)
	}

	p = parseFixture(t, "uuencode_parts.eml")
	got = nil
	for _, a := range p.Attachments {
		got = append(got, a.Filename+" "+a.ContentType+" "+string(a.Data))
	}
	want = []string{
		"server.log application/octet-stream 2026-11-26 error: disk full\n",
		"client.log text/plain 2026-11-26 warn: retry\n",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("attachments (-want +got):\n%s", diff)
	}
	if p.Text != "Two logs attached.\n" {
		t.Errorf("text = %q", p.Text)
	}
}

func TestUudecode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in string
		want     string
		ok       bool
	}{
		{"one line", "#86)C\n`\n", "abc", true},
		{"space for zero", "#86)C\n \n", "abc", true},
		{"trailing spaces stripped by a relay", "$86)C9```\n`\n", "abcd", true},
		{"stripped padding restored", "$86)C9\n`\n", "abcd", true},
		{"not uuencode", "hello world this is prose\n", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, _, ok := uudecodePart([]byte(tt.in))
			if ok != tt.ok || ok && string(got) != tt.want {
				t.Errorf("uudecodePart(%q) = %q %v, want %q %v", tt.in, got, ok, tt.want, tt.ok)
			}
		})
	}
	// Prose that merely starts a line with "begin" stays text.
	p, _ := Parse([]byte("Subject: s\n\nbegin 644 is a mode, said Bob\nend\n"), ParseOptions{})
	if p.Text != "begin 644 is a mode, said Bob\nend\n" || len(p.Attachments) != 0 {
		t.Errorf("prose taken for uuencode: %q %+v", p.Text, p.Attachments)
	}
}
