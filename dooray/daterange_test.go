package dooray_test

import (
	"testing"
	"time"

	"github.com/contiple/contiple-worker/dooray"
)

func TestDateRangeWidensToWholeMilliseconds(t *testing.T) {
	kst := time.FixedZone("KST", 9*3600)
	from := time.Date(2026, 11, 24, 9, 0, 0, 123456789, kst)
	to := time.Date(2026, 11, 24, 10, 0, 0, 500000001, kst)
	if got, want := dooray.DateRange(from, to), "2026-11-24T09:00:00.123+09:00~2026-11-24T10:00:00.501+09:00"; got != want {
		t.Errorf("DateRange = %s, want %s", got, want)
	}
	exact := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	if got, want := dooray.DateRange(exact, exact), "2026-11-24T10:00:00.000Z~2026-11-24T10:00:00.000Z"; got != want {
		t.Errorf("DateRange = %s, want %s", got, want)
	}
}
