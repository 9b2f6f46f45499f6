//go:build linux

package email

import (
	"runtime"
	"syscall"
	"time"
)

// extractionTime runs f on one OS thread and returns the CPU time that thread
// spent in it: other sessions loading the machine do not make a fast
// extraction look slow, and a slow one is caught however idle the machine is.
func extractionTime(f func()) time.Duration {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	before := threadCPU()
	f()
	return threadCPU() - before
}

func threadCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_THREAD, &ru); err != nil {
		panic(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
