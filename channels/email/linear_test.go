package email

import (
	"runtime"
	"strings"
	"testing"
)

// pathological is a message whose hard part, unit, repeats n times.
type pathological struct {
	name, prefix, unit, suffix string
}

func (p pathological) build(n int) []byte {
	return []byte(p.prefix + strings.Repeat(p.unit, n) + p.suffix)
}

var pathologicalInputs = []pathological{
	{"deep nesting", "", "Content-Type: multipart/mixed; boundary=b\n\n--b\n", "text\n"},
	{"many boundaries", "Content-Type: multipart/mixed; boundary=b\n\n", "--b\n\nx\n", ""},
	{"many alternatives", "Content-Type: multipart/alternative; boundary=b\n\n",
		"--b\nContent-Type: text/plain\n\nx\n--b\nContent-Type: text/html\n\n<p>x</p>\n", ""},
	{"many text sections", "Content-Type: multipart/mixed; boundary=b\n\n",
		"--b\nContent-Type: text/plain\n\nsee\n--b\nContent-Type: text/html\n\n<p>see</p>\n", ""},
	{"long header line", "Subject: ", "abcdefgh ", "\n\nx\n"},
	{"folded header", "Subject: x\n", " folded\n", "\nx\n"},
	{"many encoded words", "Subject: ", "=?utf-8?q?caf=C3=A9?= =?iso-2022-jp?B?GyRCJEckOSEjGyhC?= ", "\n\nx\n"},
	{"many broken encoded words", "Subject: ", "=?x?q?", "\n\nx\n"},
	{"raw 8-bit header", "Subject: ", "\x95\x5c\x83\x5c ", "\n\nx\n"},
	{"many addresses", "To: ", "A <a@example.com>, ", "\n\nx\n"},
	{"addresses without commas", "From: ", "a@example.com \"q\" (c) <", "\n\nx\n"},
	{"many parameters", "Content-Type: text/plain; ", "a=b; ", "\n\nx\n"},
	{"rfc 2231 segments", "Content-Type: text/plain\nContent-Disposition: attachment", "; filename*7*=%E6%97%A5", "\n\nx\n"},
	{"unlabelled 8-bit body", "\n", "\xb9\xae\xc0\xc7 \xb6\xa9\xb5\xa5 ", ""},
	{"uuencode begin lines", "\n", "begin 644 a\nM86)C\n", ""},
	{"quoted-printable soft breaks", "Content-Transfer-Encoding: quoted-printable\n\n", "=\n", ""},
	{"nested html", "Content-Type: text/html\n\n", "<div><b><table><tr><td>", ""},
}

// TestParseIsLinear parses each pathological input at two sizes, eight
// times apart, and compares the work done as bytes and objects allocated
// (not time, which other processes disturb): linear parsing allocates about
// eight times as much, quadratic parsing sixty-four.
func TestParseIsLinear(t *testing.T) {
	const n, factor = 500, 8
	measure := func(raw []byte) (bytes, objects uint64) {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		_, _ = Parse(raw, ParseOptions{})
		runtime.ReadMemStats(&after)
		return after.TotalAlloc - before.TotalAlloc, after.Mallocs - before.Mallocs
	}
	for _, p := range pathologicalInputs {
		small, large := p.build(n), p.build(n*factor)
		measure(small) // the first use builds tables
		sb, so := measure(small)
		lb, lo := measure(large)
		if float64(lb) > 2*factor*float64(sb)+64<<10 || float64(lo) > 2*factor*float64(so)+1000 {
			t.Errorf("%s: %d bytes in %d objects for %d input bytes, %d in %d for %d: not linear",
				p.name, sb, so, len(small), lb, lo, len(large))
		}
	}
}
