package mailer

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestFindForbidden(t *testing.T) {
	t.Parallel()
	r := Rendered{
		Subject: "必ず直ります [CT-1]",
		Text:    "山田様\n絶対に大丈夫です。We GUARANTEE it, ｇｕａｒａｎｔｅｅ!\n必ず",
		HTML:    "<p>絶対</p>",
	}
	got := FindForbidden(r, []string{"絶対", "必ず", "guarantee", "", "none"})
	want := []Hit{
		{Word: "必ず", Part: "subject", Pos: 0},
		{Word: "絶対", Part: "text", Pos: 4},
		{Word: "guarantee", Part: "text", Pos: 16},
		{Word: "guarantee", Part: "text", Pos: 30},
		{Word: "必ず", Part: "text", Pos: 41},
		{Word: "絶対", Part: "html", Pos: 3},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("hits (-want +got):\n%s", diff)
	}
	// Positions are characters: the hit is found where it says.
	for _, h := range got {
		s := map[string]string{"subject": r.Subject, "text": r.Text, "html": r.HTML}[h.Part]
		runes := []rune(s)
		if n := len([]rune(h.Word)); string(foldRunes(string(runes[h.Pos:h.Pos+n]))) != string(foldRunes(h.Word)) {
			t.Errorf("%+v points at %q", h, string(runes[h.Pos:h.Pos+n]))
		}
	}
	if hits := FindForbidden(r, nil); len(hits) != 0 {
		t.Errorf("no words, hits %v", hits)
	}
}

func TestIsAutomatedAddress(t *testing.T) {
	t.Parallel()
	for addr, want := range map[string]bool{
		"MAILER-DAEMON@mx.example.jp":    true,
		"postmaster@example.jp":          true,
		"no-reply@service.example.com":   true,
		"noreply+abc@example.com":        true,
		"bounces-123@lists.example.org":  true,
		"Taro <do-not-reply@example.jp>": true,
		"taro@example.jp":                false,
		"noreplyman@example.jp":          false,
		"replies@example.jp":             false,
	} {
		if got := IsAutomatedAddress(addr); got != want {
			t.Errorf("IsAutomatedAddress(%q) = %v", addr, got)
		}
	}
}
