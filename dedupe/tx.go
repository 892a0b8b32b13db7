package dedupe

import "context"

// TxStore is implemented by a [Store] that can commit a delivery's keys in
// a transaction the application's own writes share (the pgstore module's
// store does). The receiver begins the transaction once it has claimed a
// delivery and before its callback (or wrapped handler) runs, hands the
// callback a context that carries it, and on success commits the
// delivery's keys and the transaction together: the occurrence is marked
// processed if and only if the callback's writes commit. When the callback
// fails, or the commit does, it rolls the transaction back and releases
// the claims outside it, so that a retry processes the delivery again.
type TxStore interface {
	Store
	// BeginTx begins one delivery's transaction. The returned context is
	// ctx carrying the transaction, where the store's own accessor finds
	// it (for example pgstore.TxFromContext). A nil Tx and error mean no
	// transaction (a store where they are optional): the delivery then
	// settles as with any Store.
	BeginTx(ctx context.Context) (context.Context, Tx, error)
}

// Tx is one delivery's transaction, begun by [TxStore.BeginTx].
type Tx interface {
	// Commit runs ops (the OpCommit ops of the delivery's keys) in the
	// transaction and commits it, all or nothing: when an op fails, it
	// commits nothing and returns the error. An error may also mean that
	// the outcome is unknown (the connection broke during the commit):
	// the receiver then releases the claims and answers 503, and a key
	// the transaction did commit stays Done (Release never undoes a
	// commit), so the retry is a duplicate exactly when the writes
	// committed.
	Commit(ctx context.Context, ops []Op) error
	// Rollback abandons the transaction; after Commit it does nothing.
	Rollback(ctx context.Context) error
}
