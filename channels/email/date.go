package email

import (
	"net/mail"
	"regexp"
	"strings"
	"time"
)

// dateLayouts are tried after net/mail.ParseDate, for Date headers seen in the
// wild: missing weekday or seconds, two-digit years, zone names instead of
// offsets, ISO 8601 from scripts.
var dateLayouts = []string{
	"Mon, 2 Jan 2006 15:04:05 -0700",
	"Mon, 2 Jan 2006 15:04:05 MST",
	"Mon, 2 Jan 2006 15:04 -0700",
	"2 Jan 2006 15:04:05 -0700",
	"2 Jan 2006 15:04 -0700",
	"Mon, 2 Jan 06 15:04:05 -0700",
	"2 Jan 06 15:04:05 -0700",
	"Mon, 2 Jan 2006 15:04:05",
	"Mon Jan 2 15:04:05 2006",
	"Mon Jan 2 15:04:05 -0700 2006",
	"Mon Jan 2 15:04:05 MST 2006",
	"2006-01-02T15:04:05Z07:00",
	"2006-01-02 15:04:05 -0700",
	"2006-01-02 15:04:05",
	"Mon, 02-Jan-2006 15:04:05 -0700",
	"January 2, 2006 15:04:05 -0700",
}

// zoneOffsets covers zone names mailers write instead of offsets; Go's
// time.Parse only knows the offset of the local zone's own abbreviation.
var zoneOffsets = map[string]string{
	"UT": "+0000", "UTC": "+0000", "GMT": "+0000", "Z": "+0000",
	"EST": "-0500", "EDT": "-0400", "CST": "-0600", "CDT": "-0500",
	"MST": "-0700", "MDT": "-0600", "PST": "-0800", "PDT": "-0700",
	"JST": "+0900", "KST": "+0900", "CET": "+0100", "CEST": "+0200",
	"BST": "+0100", "IST": "+0530", "HKT": "+0800", "SGT": "+0800",
	"AEST": "+1000", "AEDT": "+1100",
}

// spacedTime joins "09 :  55" (comments and folding inside the time).
var spacedTime = regexp.MustCompile(`(\d)\s*:\s*(\d)`)

// parseDate parses a Date header; ok is false when nothing sensible comes out.
func parseDate(v string) (time.Time, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return time.Time{}, false
	}
	if t, err := mail.ParseDate(v); err == nil {
		return t, plausibleDate(t)
	}
	s, _ := stripComments(v)
	s = spacedTime.ReplaceAllString(s, "$1:$2")
	s = spacedTime.ReplaceAllString(s, "$1:$2")
	fields := strings.Fields(strings.ReplaceAll(s, ",", ", "))
	for i, f := range fields {
		if off, ok := zoneOffsets[strings.ToUpper(f)]; ok {
			fields[i] = off
		}
	}
	s = strings.ReplaceAll(strings.Join(fields, " "), " ,", ",")
	s = strings.ReplaceAll(s, ",,", ",")
	for _, layout := range dateLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t, plausibleDate(t)
		}
	}
	return time.Time{}, false
}

func plausibleDate(t time.Time) bool {
	return t.Year() >= 1970 && t.Year() < 2200
}
