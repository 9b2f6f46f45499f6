package dooray_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/contiple/contiple-worker/dooray"
	"github.com/google/go-cmp/cmp"
)

func TestIDDecodesStringsAndBigNumbers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in string
		want     dooray.ID
	}{
		{"string", `"3118892665733691672"`, "3118892665733691672"},
		{"number beyond 2^53", `3118892665733691672`, "3118892665733691672"},
		{"small number", `1`, "1"},
		{"null", `null`, ""},
		{"padded string", `" 42 "`, "42"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got dooray.ID
			if err := json.Unmarshal([]byte(tt.in), &got); err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
	for _, bad := range []string{`1.5`, `true`, `{}`, `1e18`} {
		var id dooray.ID
		if err := json.Unmarshal([]byte(bad), &id); err == nil {
			t.Errorf("%s: decoded to %q, want an error", bad, id)
		}
	}
	b, _ := json.Marshal(struct{ ID dooray.ID }{"3118892665733691672"})
	if diff := cmp.Diff(`{"ID":"3118892665733691672"}`, string(b)); diff != "" {
		t.Errorf("marshal (-want +got):\n%s", diff)
	}
}

func TestTimeDecodesWithAndWithoutMillis(t *testing.T) {
	t.Parallel()
	kst := time.FixedZone("", 9*3600)
	tests := []struct {
		in   string
		want time.Time
	}{
		{`"2022-01-02T12:00:26.453+09:00"`, time.Date(2022, 1, 2, 12, 0, 26, 453e6, kst)},
		{`"2022-01-02T12:00:26+09:00"`, time.Date(2022, 1, 2, 12, 0, 26, 0, kst)},
		{`"2022-01-02T12:00:26+0900"`, time.Date(2022, 1, 2, 12, 0, 26, 0, kst)},
		{`"2022-01-02T03:00:26Z"`, time.Date(2022, 1, 2, 3, 0, 26, 0, time.UTC)},
		{`null`, time.Time{}},
		{`""`, time.Time{}},
	}
	for _, tt := range tests {
		var got dooray.Time
		if err := json.Unmarshal([]byte(tt.in), &got); err != nil {
			t.Errorf("%s: %v", tt.in, err)
			continue
		}
		if !got.Equal(tt.want) {
			t.Errorf("%s: got %v, want %v", tt.in, got.Time, tt.want)
		}
	}
}
