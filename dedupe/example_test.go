package dedupe_test

import (
	"context"
	"fmt"
	"time"

	"github.com/codathook/codathook/dedupe"
	"github.com/codathook/codathook/normalize"
)

func ExampleNewLRU() {
	ctx := context.Background()
	store := dedupe.NewLRU(10_000) // at most 10,000 keys; no goroutine
	defer store.Close(ctx)

	st, _ := store.Claim(ctx, "d:msg_1", time.Minute)
	fmt.Println("first claim:", st)
	st, _ = store.Claim(ctx, "d:msg_1", time.Minute)
	fmt.Println("concurrent copy:", st)
	_ = store.Commit(ctx, "d:msg_1", 30*time.Hour)
	st, _ = store.Claim(ctx, "d:msg_1", time.Minute)
	fmt.Println("retry:", st)
	// Output:
	// first claim: claimed
	// concurrent copy: pending
	// retry: done
}

func ExampleDeduper_Begin() {
	ctx := context.Background()
	d, _ := dedupe.New(dedupe.NewLRU(0), nil)

	legacy, _ := normalize.Parse([]byte(`{"AlertId":"a1","RuleType":"DataConnectionStatusChanged","CompanyId":"co","DataConnectionId":"cn","Data":{"dataConnectionId":"cn","oldStatus":"PendingAuth","newStatus":"Linked"}}`))
	twin, _ := normalize.Parse([]byte(`{"id":"e1","eventType":"connection.connected","payload":{"referenceCompany":{"id":"co"},"connection":{"id":"cn","status":"Linked"}}}`))

	for _, del := range []dedupe.Delivery{
		{Key: "a1", Event: legacy},  // legacy endpoint
		{Key: "msg_1", Event: twin}, // new endpoint: the same occurrence
		{Key: "msg_1", Event: twin}, // Svix retry
	} {
		lease, err := d.Begin(ctx, del)
		if err != nil {
			fmt.Println("503:", err)
			continue
		}
		fmt.Println(del.Event.Format, del.Event.Type, lease.Outcome())
		if lease.Outcome() == dedupe.Process {
			// ... run the callbacks, then:
			_ = lease.Commit(ctx)
		}
	}
	// Output:
	// legacy connection.connected process
	// new connection.connected duplicate
	// new connection.connected duplicate
}
