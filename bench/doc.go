// Package bench compares codathook's receive pipeline with what teams write
// today, in one process and one run: svix-go's Verify followed by
// encoding/json into typed structs, and a hand-written receiver. It is a
// separate module so that svix-go never enters codathook's go.mod.
package bench
