package email

import (
	"fmt"
	"strings"
	"testing"
)

// FuzzThreading feeds arbitrary threading headers and subjects. ThreadIDs must
// be clean (no brackets, spaces or repeats), a ticket token or marker we write
// must always be read back, and nothing may panic.
func FuzzThreading(f *testing.F) {
	f.Add("<a@b>", "<x@y> <a@b>", "Re: [CT-12] 質問", uint32(12))
	f.Add("a@b (comment)", "<x@y>,<x@y>\r\n\t<z@w>", "［ＣＴ－７］", uint32(7))
	f.Add("<ct-5-abcDEF123@support.example.test>", "", "Re:", uint32(5))
	f.Add("<<>>", "<", "[CT-0]", uint32(0))
	f.Fuzz(func(t *testing.T, inReplyTo, references, subject string, n uint32) {
		raw := fmt.Sprintf("From: a@example.jp\r\nIn-Reply-To: %s\r\nReferences: %s\r\nSubject: %s\r\n\r\nbody\r\n",
			oneHeaderLine(inReplyTo), oneHeaderLine(references), oneHeaderLine(subject))
		p, _ := Parse([]byte(raw), ParseOptions{})
		seen := map[string]bool{}
		for _, id := range p.ThreadIDs() {
			if id == "" || strings.ContainsAny(id, "<> \t\r\n\"") || seen[id] {
				t.Fatalf("bad thread id %q in %q", id, p.ThreadIDs())
			}
			seen[id] = true
			_, _ = TicketTokenFromMessageID(id)
		}
		_, _ = ExtractTicketMarker(subject)
		if n == 0 {
			return
		}
		if got, ok := TicketTokenFromMessageID(fmt.Sprintf("<ct-%d-k3j5h2g8a9@support.example.test>", n)); !ok || got != int64(n) {
			t.Fatalf("token of ticket %d read as %d %v", n, got, ok)
		}
		if got, ok := ExtractTicketMarker(fmt.Sprintf("Re: [CT-%d] %s", n, subject)); !ok || got != int64(n) {
			t.Fatalf("marker of ticket %d read as %d %v", n, got, ok)
		}
	})
}

// oneHeaderLine keeps a fuzzed value inside its header field.
func oneHeaderLine(s string) string {
	return strings.NewReplacer("\r", " ", "\n", " ").Replace(s)
}
