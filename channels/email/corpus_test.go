package email

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

// corpusDir returns /work/shared/mail-corpus, found relative to the repository
// root (the directory holding go.mod): shared/ sits beside the repository.
// Without it the test is skipped, except in CI, where it must be present.
func corpusDir(tb testing.TB) string {
	tb.Helper()
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			tb.Fatal("go.mod not found above the package directory")
		}
		dir = parent
	}
	corpus := filepath.Join(dir, "..", "shared", "mail-corpus")
	if _, err := os.Stat(corpus); err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("mail corpus missing at %s (required in CI)", corpus)
		}
		tb.Skipf("mail corpus not found at %s", corpus)
	}
	return corpus
}

// corpusFiles lists every .eml under the corpus, sorted.
func corpusFiles(tb testing.TB) []string {
	tb.Helper()
	root := corpusDir(tb)
	var files []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(path, ".eml") {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	if len(files) == 0 {
		tb.Fatal("no .eml files in the corpus")
	}
	return files
}

func TestCorpusParsesWithoutPanic(t *testing.T) {
	t.Parallel()
	for _, path := range corpusFiles(t) {
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		p, err := Parse(raw, ParseOptions{})
		if errors.Is(err, ErrInternal) {
			t.Errorf("%s: %v", path, err)
		}
		if p == nil {
			t.Fatalf("%s: nil result", path)
		}
		checkInvariants(t, path, p)
	}
}

// checkInvariants asserts the output contract on every string of p.
func checkInvariants(tb testing.TB, name string, p *Parsed) {
	tb.Helper()
	walkStrings(reflect.ValueOf(p).Elem(), func(path, s string) {
		if !utf8.ValidString(s) {
			tb.Errorf("%s: %s is not valid UTF-8: %q", name, path, s)
		}
		if strings.IndexByte(s, 0) >= 0 {
			tb.Errorf("%s: %s contains NUL", name, path)
		}
	}, "Parsed")
	if _, err := p.JSON(); err != nil {
		tb.Errorf("%s: JSON: %v", name, err)
	}
}

func walkStrings(v reflect.Value, fn func(path, s string), path string) {
	switch v.Kind() {
	case reflect.String:
		fn(path, v.String())
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				walkStrings(v.Field(i), fn, path+"."+v.Type().Field(i).Name)
			}
		}
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return // attachment bytes are binary
		}
		for i := 0; i < v.Len(); i++ {
			walkStrings(v.Index(i), fn, path+"[]")
		}
	case reflect.Pointer:
		if !v.IsNil() {
			walkStrings(v.Elem(), fn, path)
		}
	}
}

// stalwart's expected result (resources/eml/*/*.json of stalwartlabs/mail-parser).
type stalwartMessage struct {
	TextBody    []int          `json:"text_body"`
	Attachments []int          `json:"attachments"`
	Parts       []stalwartPart `json:"parts"`
}

type stalwartPart struct {
	Headers []struct {
		Name  json.RawMessage `json:"name"`
		Value json.RawMessage `json:"value"`
	} `json:"headers"`
	Body json.RawMessage `json:"body"`
}

type stalwartAddr struct {
	Name    *string `json:"name"`
	Address *string `json:"address"`
}

// header returns the raw value of a named header ("subject", "from", …).
func (p stalwartPart) header(name string) json.RawMessage {
	for _, h := range p.Headers {
		var n string
		if json.Unmarshal(h.Name, &n) == nil && n == name {
			return h.Value
		}
	}
	return nil
}

func (p stalwartPart) text(name string) string {
	var v struct{ Text string }
	_ = json.Unmarshal(p.header(name), &v)
	return v.Text
}

func (p stalwartPart) addresses(name string) []string {
	var v struct {
		Address struct {
			List  []stalwartAddr
			Group []struct{ Addresses []stalwartAddr }
		}
	}
	_ = json.Unmarshal(p.header(name), &v)
	var out []string
	add := func(a stalwartAddr) {
		if a.Address != nil {
			out = append(out, *a.Address)
		}
	}
	for _, a := range v.Address.List {
		add(a)
	}
	for _, g := range v.Address.Group {
		for _, a := range g.Addresses {
			add(a)
		}
	}
	return out
}

// param returns a Content-Type or Content-Disposition attribute.
func (p stalwartPart) param(header, name string) string {
	var v struct {
		ContentType struct {
			Attributes []struct{ Name, Value string }
		}
	}
	_ = json.Unmarshal(p.header(header), &v)
	for _, a := range v.ContentType.Attributes {
		if a.Name == name {
			return a.Value
		}
	}
	return ""
}

// body returns the kind ("Text", "Html", "Binary", …) and, for text, the content.
func (p stalwartPart) body() (kind, text string) {
	var m map[string]json.RawMessage
	if json.Unmarshal(p.Body, &m) != nil {
		return "", ""
	}
	for k, v := range m {
		_ = json.Unmarshal(v, &text)
		return k, text
	}
	return "", ""
}

// stalwartExceptions are expectations we deliberately do not meet, with why.
// Keys are "dir/NNN field".
var stalwartExceptions = map[string]string{
	// Netscape wrote Windows paths in quoted filenames (filename="C:\TEMP\nsmailEG.png").
	// stalwart applies RFC 822 quoted-pair rules and gets "C:TEMPnsmailEG.png";
	// we read the backslashes as the path separators they are and keep the base name.
	"legacy/035 attachments": "Windows path in a quoted filename",
	"legacy/039 attachments": "Windows path in a quoted filename",
	// Inner boundary "a" is a prefix of the outer "ab". stalwart takes "--ab" as an
	// inner delimiter; by RFC 2046 it is not one, so the text part keeps its "--a" line.
	"malformed/001 text": "prefix boundaries: RFC 2046 reading",
	// Outer boundary "a--", inner "a----": the line "--a----" is both the outer close
	// delimiter and an inner delimiter. We close the outer multipart; stalwart the inner.
	"malformed/005 text": "ambiguous boundaries",
	// Content-Disposition ";" with a filename: we keep the filename stalwart drops.
	"malformed/017 attachments": "filename recovered from a typeless Content-Disposition",
	// Fuzzed bytes with a boundary that differs only in case ("--Boundary42"); what
	// comes out is garbage either way.
	"malformed/019 text": "fuzzed garbage",
	// A part with two Content-Type fields (multipart/alternative, then text/plain).
	// We honour the first, as Go's textproto and Python's email do, and find the HTML
	// alternative; stalwart honours the last and shows the raw MIME source as text.
	"malformed/020 text": "duplicate Content-Type: first wins",
	"malformed/021 text": "duplicate Content-Type: first wins",
	// An attached message's multipart/alternative never closes; the outer boundary
	// follows. We end the attachment at the outer boundary (as Thunderbird does) and
	// list the two further attached messages; stalwart lets the inner part swallow them.
	"thirdparty/015 attachments": "outer boundary ends an unterminated nested message",
}

func TestStalwartExpectations(t *testing.T) {
	t.Parallel()
	root := filepath.Join(corpusDir(t), "stalwart")
	jsons, _ := filepath.Glob(filepath.Join(root, "*", "*.json"))
	if len(jsons) == 0 {
		t.Fatal("no stalwart expectations")
	}
	checked, failed := 0, 0
	for _, jpath := range jsons {
		name := strings.TrimSuffix(strings.TrimPrefix(jpath, root+string(filepath.Separator)), ".json")
		var want stalwartMessage
		b, err := os.ReadFile(jpath)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &want); err != nil {
			t.Fatalf("%s: %v", jpath, err)
		}
		raw, err := os.ReadFile(strings.TrimSuffix(jpath, ".json") + ".eml")
		if err != nil {
			t.Fatal(err)
		}
		got, _ := Parse(raw, ParseOptions{})
		top := want.Parts[0]
		check := func(field string, gotV, wantV any, equal bool) {
			checked++
			key := name + " " + field
			if reason, ok := stalwartExceptions[key]; ok {
				if equal {
					t.Errorf("%s: listed as an exception (%s) but now matches: remove it", key, reason)
				}
				return
			}
			if !equal {
				failed++
				t.Errorf("%s:\n got: %q\nwant: %q", key, gotV, wantV)
			}
		}

		wantSubject := top.text("subject")
		check("subject", got.Subject, wantSubject, sameText(got.Subject, wantSubject))
		wantID := top.text("message_id")
		check("message_id", got.MessageID, wantID, got.MessageID == wantID)
		wantFrom := top.addresses("from")
		gotFrom := []string{}
		if got.From.Address != "" {
			gotFrom = append(gotFrom, got.From.Address)
		}
		if len(wantFrom) > 1 {
			wantFrom = wantFrom[:1] // we keep the first From mailbox
		}
		check("from", gotFrom, wantFrom, sameList(gotFrom, wantFrom))
		wantTo := top.addresses("to")
		gotTo := []string{}
		for _, a := range got.To {
			gotTo = append(gotTo, a.Address)
		}
		check("to", gotTo, wantTo, sameList(gotTo, wantTo))

		if wantText, ok := want.firstText(); ok {
			check("text", got.Text, wantText, sameText(got.Text, wantText))
		}
		wantNames := want.attachmentNames()
		gotNames := []string{}
		for _, a := range got.Attachments {
			if a.Filename != "" && !(a.Filename == forwardedName && !contains(wantNames, forwardedName)) {
				gotNames = append(gotNames, a.Filename)
			}
		}
		check("attachments", gotNames, wantNames, sameList(gotNames, wantNames))
	}
	t.Logf("%d stalwart messages, %d expectations checked, %d failed, %d documented exceptions",
		len(jsons), checked, failed, len(stalwartExceptions))
}

// firstText is the first text body stalwart found; HTML bodies are rendered
// with our htmlToText, since only the decoded HTML is in the expectation.
func (m stalwartMessage) firstText() (string, bool) {
	for _, i := range m.TextBody {
		kind, text := m.Parts[i].body()
		switch kind {
		case "Text":
			return text, true
		case "Html":
			return htmlToText(text), true
		}
	}
	return "", false
}

func (m stalwartMessage) attachmentNames() []string {
	names := []string{}
	for _, i := range m.Attachments {
		p := m.Parts[i]
		n := p.param("content_disposition", "filename")
		if n == "" {
			n = p.param("content_type", "name")
		}
		if n = cleanFilename(n); n != "" {
			names = append(names, n)
		}
	}
	return names
}

// sameText compares bodies ignoring line endings and runs of whitespace. A
// U+FFFD in the expectation (stalwart's choice for unlabelled 8-bit bytes,
// which we decode) matches any one character.
func sameText(got, want string) bool {
	g := []rune(strings.Join(strings.Fields(got), " "))
	// We never output NUL (PostgreSQL text cannot store it); stalwart keeps it.
	w := []rune(strings.Join(strings.Fields(strings.ReplaceAll(want, "\x00", "")), " "))
	if len(g) != len(w) {
		return false
	}
	for i := range w {
		if w[i] != g[i] && w[i] != utf8.RuneError {
			return false
		}
	}
	return true
}

func sameList(got, want []string) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if !sameText(got[i], want[i]) {
			return false
		}
	}
	return true
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
