package codathook

import (
	"errors"
	"log/slog"
)

// report counts the delivery, logs it when it was not processed (a panic
// with its stack) and, at Debug, the key a duplicate matched, and hands
// its Outcome to the observer.
func (r *Receiver) report(f *flow, res outcome) {
	f.o.Result, f.o.Err, f.o.Match = res.result, res.err, string(res.match)
	if i, ok := f.ep.index(); ok {
		r.counters[i].add(res.result)
	}
	ctx := f.req.Context()
	if res.err != nil {
		attrs := []slog.Attr{slog.String("endpoint", string(f.ep)), slog.String("result", string(res.result)),
			slog.String("event_type", f.o.EventType), slog.String("delivery_id", f.o.DeliveryID), slog.Any("error", res.err)}
		var ce *CallbackError
		if errors.As(res.err, &ce) && ce.Stack != nil {
			attrs = append(attrs, slog.String("stack", string(ce.Stack)))
		}
		r.cfg.logger.LogAttrs(ctx, levelFor(res.result), "codathook: delivery not processed", attrs...)
	}
	if res.match != "" && r.cfg.logger.Enabled(ctx, slog.LevelDebug) {
		key := res.matchKey
		if key == "" {
			key = f.o.DeliveryID
		}
		r.cfg.logger.LogAttrs(ctx, slog.LevelDebug, "codathook: delivery matched a processed or running one",
			slog.String("endpoint", string(f.ep)), slog.String("result", string(res.result)),
			slog.String("match", string(res.match)), slog.String("key", key),
			slog.String("event_type", f.o.EventType), slog.String("delivery_id", f.o.DeliveryID))
	}
	if r.cfg.observer != nil {
		f.o.Duration = r.cfg.now().Sub(f.start)
		r.cfg.observer(ctx, f.o)
	}
}
