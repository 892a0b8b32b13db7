package redisstore

import (
	"context"

	"github.com/codathook/codathook/dedupe"
)

// DoInSteps runs ops as Do runs a batch it cannot run whole: pipelines in
// dedupe.DoInSteps's steps. It is how Do ran every batch before the
// script ran batches whole, for BenchmarkDo to compare.
func (s *Store) DoInSteps(ctx context.Context, ops []dedupe.Op) error {
	return dedupe.DoInSteps(ctx, ops, s.pipeline)
}
