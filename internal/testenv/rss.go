package testenv

import (
	"bufio"
	"fmt"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
)

// PeakRSS is the peak resident set of process pid (0: this one) in KiB, as
// the kernel counts it (VmHWM).
func PeakRSS(tb testing.TB, pid int) int64 {
	tb.Helper()
	f, err := os.Open(procStatus(pid))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				tb.Fatal(err)
			}
			return kb
		}
	}
	tb.Fatalf("no VmHWM in %s", procStatus(pid))
	return 0
}

// ResetPeakRSS returns the memory this process's heap no longer uses to the
// system and starts its peak resident set afresh, so that PeakRSS(tb, 0)
// then tells the peak of what follows only.
func ResetPeakRSS(tb testing.TB) {
	tb.Helper()
	debug.FreeOSMemory()
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		tb.Fatalf("reset the peak RSS: %v", err)
	}
}

func procStatus(pid int) string {
	if pid == 0 {
		return "/proc/self/status"
	}
	return fmt.Sprintf("/proc/%d/status", pid)
}
