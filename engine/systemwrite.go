package engine

import "context"

type systemWriteKey struct{}

// SystemWrite marks the writes made with the returned context as the
// engine's own bookkeeping, which a store under load must queue rather
// than refuse (EBUSY): an outbox message recorded as sent (refused, the
// copy would be sent again) and the audit log (refused, its events would
// be lost). A request's writes are never marked.
func SystemWrite(ctx context.Context) context.Context {
	return context.WithValue(ctx, systemWriteKey{}, true)
}

// IsSystemWrite reports whether ctx was marked by SystemWrite.
func IsSystemWrite(ctx context.Context) bool {
	v, _ := ctx.Value(systemWriteKey{}).(bool)
	return v
}
