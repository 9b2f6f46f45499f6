package email

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

// maxFuzzReply bounds the text FuzzExtractReply builds from its inputs.
const maxFuzzReply = 1 << 20

// FuzzExtractReply feeds reply extraction a text made of a prefix and a unit
// repeated up to 1 MB, so the fuzzer finds both odd lines and the repeated
// structures that make scanning loops quadratic. For every input: no panic;
// valid UTF-8 stays valid; the reply is never longer than the text; every
// reply line is a line of the text, in order (nothing made up or reordered);
// a mail said to only quote has an empty reply; and no input takes more than
// a second of CPU time (see extractionTime). Seeds: the texts of testdata/replies and of the shared mail
// corpus, and pathological inputs (100k quoted lines, a 1 MB line, many
// attribution-like lines, blank lines by the million).
func FuzzExtractReply(f *testing.F) {
	for _, text := range fuzzReplySeeds(f) {
		f.Add(text, "", uint32(0))
	}
	for _, p := range pathologicalReplies {
		f.Add(p.prefix, p.unit, p.count)
	}
	f.Fuzz(func(t *testing.T, prefix, unit string, count uint32) {
		text := prefix
		if unit != "" && count > 0 {
			text += strings.Repeat(unit, int(min(count, uint32(maxFuzzReply/len(unit)))))
		}
		var reply string
		var onlyQuotes bool
		if d := extractionTime(func() { reply, onlyQuotes = ExtractReply(text) }); d > replyTimeBudget {
			t.Fatalf("%v for %d bytes (prefix %q, unit %q × %d)", d, len(text), trimForLog(prefix), trimForLog(unit), count)
		}
		if utf8.ValidString(text) && !utf8.ValidString(reply) {
			t.Fatalf("invalid UTF-8 from valid input: %q", trimForLog(reply))
		}
		if len(reply) > len(text) {
			t.Fatalf("reply longer than the text: %d > %d", len(reply), len(text))
		}
		if onlyQuotes && reply != "" {
			t.Fatalf("only quotes, yet reply %q", trimForLog(reply))
		}
		checkReplyLinesInText(t, text, reply)
	})
}

// pathologicalReplies are texts of a prefix and a unit repeated up to 1 MB
// that make careless scanning loops quadratic.
var pathologicalReplies = []struct {
	prefix, unit string
	count        uint32
}{
	{"", "> quoted\n", 100_000},
	{"", "a", maxFuzzReply},
	{"x", ":", maxFuzzReply},
	{"", "\n", maxFuzzReply},
	{"Hi\n", "On Tue, Nov 24, 2026 at 10:00 AM A <a@example.com> wrote:\n", 20_000},
	{"Hi\n", "On Tue, Nov 24, 2026 at 10:00 AM A <\n", 30_000},
	{"", "2026年11月24日(火) 10:00 山田 <y@example.jp>:\n\n", 20_000},
	{"", "2026년 11월 24일 (화) 오전 10:00, 홍길동 <h@example.kr>님이 작성\n> 다시\n답\n", 10_000},
	{"", "From: a\nSent: b\n> q\nanswer\n", 30_000},
	{"", "-----Original Message-----\nFrom: a\n\n> q\n", 30_000},
	{"", "---- On 24 Nov 2026 10:00 A <a@b.c> wrote ----\n> q\n", 20_000},
	{"", "________________________________\n", 30_000},
	{"", "| a\n", 100_000},
	{"x\n", "Sent from my iPhone\n\n", 50_000},
	{"From: a\nSent: b\n\n", "[Jane] x\ny\n", 50_000},
}

// BenchmarkExtractReply measures reply extraction on each pathological text
// (1 MB or less each).
func BenchmarkExtractReply(b *testing.B) {
	for _, p := range pathologicalReplies {
		text := p.prefix + strings.Repeat(p.unit, int(min(p.count, uint32(maxFuzzReply/len(p.unit)))))
		name := p.unit
		if r := []rune(name); len(r) > 12 {
			name = string(r[:12]) // whole characters: a name cut inside one prints as �
		}
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(text)))
			for b.Loop() {
				ExtractReply(text)
			}
		})
	}
}

// checkReplyLinesInText fails unless each non-blank line of reply is a line of
// text (the first and last may have lost surrounding white space), in order.
func checkReplyLinesInText(t *testing.T, text, reply string) {
	t.Helper()
	lines := strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
	j := 0
	for _, r := range strings.Split(reply, "\n") {
		r = strings.TrimSpace(r)
		if r == "" {
			continue
		}
		for j < len(lines) && strings.TrimSpace(lines[j]) != r {
			j++
		}
		if j == len(lines) {
			t.Fatalf("reply line %q is not a line of the text, in order", trimForLog(r))
		}
		j++
	}
}

func trimForLog(s string) string {
	if len(s) > 200 {
		return s[:200] + "…"
	}
	return s
}

// fuzzReplySeeds returns the texts of the reply fixtures and of the corpus.
func fuzzReplySeeds(f *testing.F) []string {
	paths, _ := filepath.Glob(filepath.Join("testdata", "replies", "*.eml"))
	if dir := corpusDirIfPresent(); dir != "" {
		_ = filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
			if err == nil && strings.HasSuffix(path, ".eml") {
				paths = append(paths, path)
			}
			return nil
		})
	}
	var texts []string
	for _, path := range paths {
		raw, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		if p, _ := Parse(raw, ParseOptions{}); p != nil && p.Text != "" {
			texts = append(texts, p.Text)
		}
	}
	return texts
}
