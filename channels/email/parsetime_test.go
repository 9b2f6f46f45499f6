//go:build unix

package email

import (
	"flag"
	"strings"
	"syscall"
	"testing"
	"time"
)

// FuzzParseTime parses prefix + unit repeated to about 256 KiB + suffix and
// fails when that one parse takes more than a second of CPU: a linear parse
// of that size takes milliseconds, a quadratic one far longer. CPU time, not
// wall time, so that other processes on the machine do not fail it; the
// bound is generous on purpose (TestParseIsLinear measures the work). Only
// while fuzzing: as a plain test the seeds are parsed at 16 KiB, without a
// bound, since -race slows parsing tenfold.
func FuzzParseTime(f *testing.F) {
	for _, p := range pathologicalInputs {
		f.Add([]byte(p.prefix), []byte(p.unit), []byte(p.suffix))
	}
	for _, raw := range seedMessages() {
		if h, body := readHeader(raw); len(h) > 0 && len(body) > 0 {
			f.Add(raw[:len(raw)-len(body)], body[:min(len(body), 512)], []byte(nil))
		}
	}
	fuzzing := flag.Lookup("test.fuzz") != nil && flag.Lookup("test.fuzz").Value.String() != ""
	size := 16 << 10
	if fuzzing {
		size = 256 << 10
	}
	f.Fuzz(func(t *testing.T, prefix, unit, suffix []byte) {
		if len(unit) == 0 {
			return
		}
		n := size / len(unit)
		raw := []byte(string(prefix) + strings.Repeat(string(unit), n) + string(suffix))
		start := cpuTime()
		_, _ = Parse(raw, ParseOptions{})
		if d := cpuTime() - start; fuzzing && d > time.Second {
			t.Errorf("%d bytes (%q × %d) took %v of CPU", len(raw), unit[:min(len(unit), 40)], n, d)
		}
	})
}

// cpuTime is the CPU time this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
