package jobs

import (
	"context"

	"golang.org/x/sync/semaphore"
)

// MemoryBudget bounds how many bytes of mail a process reads and parses at
// once (mail.memory_budget): each mail being ingested holds its size of the
// budget, so big mail waits for room instead of piling up. A mail larger than
// the whole budget holds all of it, alone. A nil budget is unlimited.
type MemoryBudget struct {
	sem   *semaphore.Weighted
	bytes int64
}

// NewMemoryBudget returns a budget of that many bytes (<= 0: unlimited, nil).
func NewMemoryBudget(bytes int64) *MemoryBudget {
	if bytes <= 0 {
		return nil
	}
	return &MemoryBudget{sem: semaphore.NewWeighted(bytes), bytes: bytes}
}

// Acquire waits until n bytes (at least 1, at most the whole budget) are free
// and takes them; release gives them back.
func (b *MemoryBudget) Acquire(ctx context.Context, n int64) (release func(), err error) {
	if b == nil {
		return func() {}, nil
	}
	n = min(max(n, 1), b.bytes)
	if err := b.sem.Acquire(ctx, n); err != nil {
		return nil, err
	}
	return func() { b.sem.Release(n) }, nil
}
