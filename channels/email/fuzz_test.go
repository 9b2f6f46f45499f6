package email

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzParse checks that no input makes Parse panic (the recover in Parse is a
// last resort, so a recovered panic is a failure here) and that the output
// contract holds: valid UTF-8 without NUL everywhere.
func FuzzParse(f *testing.F) {
	for _, raw := range seedMessages() {
		f.Add(raw)
	}
	f.Add([]byte("Subject: =?iso-2022-jp?B?GyRC?=\r\nContent-Type: multipart/mixed; boundary=\"\"\r\n\r\n--\r\n"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		p, err := Parse(raw, ParseOptions{MaxParts: 200})
		if errors.Is(err, ErrInternal) {
			t.Fatalf("panic: %v", err)
		}
		checkInvariants(t, "fuzz", p)
		if _, ok := ExtractTicketMarker(p.Subject); ok && !strings.Contains(strings.ToUpper(p.Subject), "CT") &&
			!strings.ContainsRune(p.Subject, 'Ｃ') {
			t.Errorf("ticket marker found in %q", p.Subject)
		}
	})
}

// FuzzAddress checks the address parser on header values from the corpus and
// the fixtures: no panic, valid UTF-8 out of valid input, no mailbox with
// unquoted space or brackets (two addresses glued, or a name run into the
// address), and every valid mailbox parses again to itself.
func FuzzAddress(f *testing.F) {
	for _, raw := range seedMessages() {
		h, _ := readHeader(raw)
		for _, key := range []string{"from", "to", "cc", "reply-to", "sender"} {
			for _, v := range h.values(key) {
				f.Add(v)
			}
		}
	}
	for _, s := range []string{`a@b c@d`, `A <a@b> B <c@d>`, `<<a@b>>`, `Name <a@b`, `a@b>`, `"a b"@c`,
		`MAILER-DAEMON (Mail Delivery System)`, `g: a@b, (c) "d" <e@f>;`, `=?utf-8?B?5bGx55Sw?= <y@x>`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		list := parseAddressList(v, textHint{})
		for _, a := range list {
			if utf8.ValidString(v) && (!utf8.ValidString(a.Name) || !utf8.ValidString(a.Address)) {
				t.Errorf("invalid UTF-8 out of %q: %+v", v, a)
			}
			// Quoting is judged on the raw bytes, where a Shift_JIS pair may
			// hold a '\\'; in decoded text that is UTF-8 it is the same.
			if utf8.ValidString(v) && unquoted(a.Address, " \t\r\n<>()") {
				t.Errorf("address with a space or bracket out of %q: %q", v, a.Address)
			}
			if !a.valid() || !isPlainASCII(a.Address) {
				continue
			}
			again := parseAddressList(a.Address, textHint{})
			if len(again) != 1 || again[0].Address != a.Address {
				t.Errorf("%q out of %q parses again as %+v", a.Address, v, again)
			}
		}
		if from, ok := firstValid(list); ok && !from.valid() {
			for _, a := range list {
				if a.valid() {
					t.Errorf("sender %+v chosen over valid %+v", from, a)
				}
			}
		}
	})
}

// unquoted reports a character of chars in s outside quoted strings.
func unquoted(s, chars string) bool {
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '"':
			i = skipQuoted(s, i, rawText(s)) - 1
		case strings.IndexByte(chars, s[i]) >= 0:
			return true
		}
	}
	return false
}

// seedMessages are the fixtures and the corpus messages, as fuzz seeds.
func seedMessages() [][]byte {
	seeds, _ := filepath.Glob(filepath.Join("testdata", "*.eml"))
	if dir := corpusDirIfPresent(); dir != "" {
		_ = filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
			if err == nil && strings.HasSuffix(path, ".eml") {
				seeds = append(seeds, path)
			}
			return nil
		})
	}
	var out [][]byte
	for _, path := range seeds {
		if raw, err := os.ReadFile(path); err == nil {
			out = append(out, raw)
		}
	}
	return out
}

// FuzzCharset checks charset decoding and detection on the fixtures' and the
// corpus's header values and body starts, with their labels: no panic,
// valid UTF-8 always, and unlabelled valid UTF-8 comes out unchanged.
func FuzzCharset(f *testing.F) {
	for _, c := range detectCases {
		f.Add([]byte(c.in), c.labelled, uint8(c.locale))
	}
	for _, raw := range seedMessages() {
		h, body := readHeader(raw)
		_, params := parseParamHeader(h.get("content-type"), textHint{})
		f.Add(body[:min(len(body), 1024)], params["charset"], uint8(0))
		for _, fl := range h {
			if !isPlainASCII(fl.value) || strings.Contains(fl.value, "=?") {
				f.Add([]byte(fl.value), "", uint8(japaneseLang))
			}
		}
	}
	f.Fuzz(func(t *testing.T, b []byte, label string, locale uint8) {
		l := lang(locale % uint8(latinLang+1))
		s := decodeCharset(b, label, l)
		if !utf8.ValidString(s) {
			t.Errorf("decodeCharset(%q, %q) = %q: invalid UTF-8", b, label, s)
		}
		if label == "" && utf8.Valid(b) && !hasISO2022Escape(b) && s != string(b) {
			t.Errorf("valid UTF-8 %q changed to %q", b, s)
		}
		if c := detectCharset(b, nil, l); !utf8.ValidString(decodeAs(b, c)) {
			t.Errorf("decodeAs(%q, %s): invalid UTF-8", b, c.label)
		}
		if h := decodeHeaderText(string(b), textHint{label: label, locale: l}); !utf8.ValidString(h) {
			t.Errorf("decodeHeaderText(%q, %q) = %q: invalid UTF-8", b, label, h)
		}
	})
}

// corpusDirIfPresent is corpusDir without failing or skipping: fuzz seeds are
// a bonus, not a requirement.
func corpusDirIfPresent() string {
	if dir := os.Getenv("CONTIPLE_MAIL_CORPUS"); dir != "" {
		if _, err := os.Stat(dir); err == nil {
			return dir
		}
		return ""
	}
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
	corpus := filepath.Join(dir, "..", "shared", "mail-corpus")
	if _, err := os.Stat(corpus); err != nil {
		return ""
	}
	return corpus
}
