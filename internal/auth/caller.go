package auth

import "context"

// Caller is who is making a request, as the front door saw it. The engine
// uses the address for per-address limits, to forgive a user's own wrong
// answers, and in the audit trail.
type Caller struct {
	// IP is the client's address ("" if unknown). Front doors take it from
	// the connection, or from X-Forwarded-For only behind a trusted proxy.
	IP        string
	UserAgent string
}

type callerKey struct{}

// WithCaller returns a context carrying c.
func WithCaller(ctx context.Context, c Caller) context.Context {
	return context.WithValue(ctx, callerKey{}, c)
}

// callerOf returns the Caller in ctx, or the zero Caller.
func callerOf(ctx context.Context) Caller {
	c, _ := ctx.Value(callerKey{}).(Caller)
	return c
}
