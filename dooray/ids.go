package dooray

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ID is a Dooray! identifier. Ids are decimal strings of up to 19 digits, beyond
// the exact range of float64, yet some responses send them as bare JSON numbers;
// both forms decode here from the raw bytes, never through float64.
type ID string

func (id ID) String() string { return string(id) }

// MarshalJSON always writes a string, the form every documented request uses.
func (id ID) MarshalJSON() ([]byte, error) { return json.Marshal(string(id)) }

func (id *ID) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0 || string(b) == "null":
		*id = ""
		return nil
	case b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return fmt.Errorf("dooray: id: %w", err)
		}
		*id = ID(strings.TrimSpace(s))
		return nil
	case isInteger(b):
		*id = ID(b)
		return nil
	}
	return fmt.Errorf("dooray: id: want a string or an integer, got %.40s", b)
}

func isInteger(b []byte) bool {
	if len(b) > 0 && b[0] == '-' {
		b = b[1:]
	}
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// Time is a Dooray! timestamp: ISO-8601 with an offset, with or without
// fractional seconds. Empty strings and null decode to the zero time, because
// optional dates (dueDate, endedAt) come back either way.
type Time struct{ time.Time }

// Offsets without a colon are ISO-8601 too; accept them rather than fail a
// whole response over one field.
var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999Z0700",
	"2006-01-02T15:04:05.999999999",
}

func (t *Time) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || string(b) == "null" {
		t.Time = time.Time{}
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("dooray: time: %w", err)
	}
	s = strings.TrimSpace(s)
	if s == "" {
		t.Time = time.Time{}
		return nil
	}
	for _, layout := range timeLayouts {
		if v, err := time.Parse(layout, s); err == nil {
			t.Time = v
			return nil
		}
	}
	return fmt.Errorf("dooray: time: cannot parse %q", s)
}

func (t Time) MarshalJSON() ([]byte, error) {
	if t.IsZero() {
		return []byte("null"), nil
	}
	return json.Marshal(t.Format(time.RFC3339Nano))
}

// count is a number that some responses send as a JSON string (totalCount of
// logs, files and project members in the documented examples).
type count int64

func (c *count) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || string(b) == "null" {
		*c = 0
		return nil
	}
	if b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		b = []byte(strings.TrimSpace(s))
		if len(b) == 0 {
			*c = 0
			return nil
		}
	}
	n, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		// 1.0 or 1e2 are still counts; accept them, a count never nears 2^53.
		f, ferr := strconv.ParseFloat(string(b), 64)
		if ferr != nil {
			return fmt.Errorf("dooray: count: cannot parse %.40q", b)
		}
		n = int64(f)
	}
	*c = count(n)
	return nil
}
