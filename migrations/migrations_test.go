package migrations_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/contiple/contiple-worker/internal/testenv"
	"github.com/contiple/contiple-worker/migrations"
)

func TestUpConcurrentlyAppliesEachMigrationOnce(t *testing.T) {
	t.Parallel()
	pool := testenv.NewEmptyDatabase(t)
	all, err := migrations.All()
	if err != nil || len(all) == 0 {
		t.Fatalf("embedded migrations: %v, %v", all, err)
	}
	var mu sync.Mutex
	var applied []int
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			vs, err := migrations.Up(context.Background(), pool)
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			applied = append(applied, vs...)
			mu.Unlock()
		})
	}
	wg.Wait()
	if len(applied) != len(all) {
		t.Fatalf("four concurrent runs applied %v, want each of %d migrations once", applied, len(all))
	}
	again, err := migrations.Up(context.Background(), pool)
	if err != nil || len(again) != 0 {
		t.Fatalf("second run applied %v, %v", again, err)
	}
	var n int
	if err := pool.QueryRow(context.Background(), "SELECT count(*) FROM schema_migrations").Scan(&n); err != nil || n != len(all) {
		t.Fatalf("schema_migrations has %d rows (%v)", n, err)
	}
}

// A migration edited after it was applied is refused with its name, not
// silently skipped.
func TestUpRefusesAMigrationChangedAfterItWasApplied(t *testing.T) {
	ctx := context.Background()
	pool := testenv.NewEmptyDatabase(t)
	if _, err := migrations.Up(ctx, pool); err != nil {
		t.Fatal(err)
	}
	if applied, err := migrations.Up(ctx, pool); err != nil || len(applied) != 0 {
		t.Fatalf("second run: %v %v", applied, err)
	}
	if _, err := pool.Exec(ctx, "UPDATE schema_migrations SET checksum = 'aaaaaaaaaaaaaaaa' WHERE version = 1"); err != nil {
		t.Fatal(err)
	}
	_, err := migrations.Up(ctx, pool)
	if err == nil || !strings.Contains(err.Error(), "001_init was applied with another text") {
		t.Errorf("changed migration: %v", err)
	}
}
