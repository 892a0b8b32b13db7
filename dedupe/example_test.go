package dedupe_test

import (
	"context"
	"fmt"
	"time"

	"github.com/codathook/codathook/dedupe"
)

func ExampleNewLRU() {
	ctx := context.Background()
	store := dedupe.NewLRU(dedupe.LRUConfig{Capacity: 10_000}) // at most 10,000 keys; no goroutine
	defer store.Close(ctx)

	st, _ := store.Claim(ctx, "d:msg_1", time.Minute)
	fmt.Println("first claim:", st)
	st, _ = store.Claim(ctx, "d:msg_1", time.Minute)
	fmt.Println("concurrent copy:", st)
	_ = store.Commit(ctx, "d:msg_1", 34*time.Hour)
	st, _ = store.Claim(ctx, "d:msg_1", time.Minute)
	fmt.Println("retry:", st)
	// Output:
	// first claim: claimed
	// concurrent copy: pending
	// retry: done
}
