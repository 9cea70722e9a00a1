package hook

import (
	"context"
	"fmt"
)

// Invoker runs a trigger's hook: it sends ev and, on success, replaces
// ev.Response with the hook's response, a JSON object already checked with
// the trigger's Decode function (read it with that function).
//
// trigger is the trigger's name (PreSignUp, …); ev.TriggerSource must be
// one of its sources. An error a client may see is a *pool.Error of kind
// KindUserLambdaValidation, KindUnexpectedLambda or
// KindInvalidLambdaResponse; on error ev.Response is unchanged.
// Implementations are safe for concurrent use.
type Invoker interface {
	Invoke(ctx context.Context, trigger string, ev *Event) error
}

// checkInvocation catches a caller's mistakes before anything is sent.
func checkInvocation(trigger string, ev *Event) error {
	if !IsTrigger(trigger) {
		return fmt.Errorf("hook: unknown trigger %q", trigger)
	}
	if ev == nil {
		return fmt.Errorf("hook: %s: nil event", trigger)
	}
	if got := TriggerOf(ev.TriggerSource); got != trigger {
		return fmt.Errorf("hook: %s: event source %q belongs to trigger %q", trigger, ev.TriggerSource, got)
	}
	return nil
}

// Route is a trigger's hook in a Router.
type Route struct {
	Invoker Invoker
	// LambdaVersion is the trigger's event version: LambdaV1 (also for "")
	// or, for PreTokenGeneration only, LambdaV2.
	LambdaVersion string
}

// Router is a pool's Invoker: it sends each trigger to the hook configured
// for it. Triggers without one are for the built-in defaults; ask
// Configured first. A nil *Router has no hooks.
type Router struct {
	routes map[string]Route
}

// NewRouter returns a Router over routes, keyed by trigger name.
func NewRouter(routes map[string]Route) (*Router, error) {
	r := &Router{routes: make(map[string]Route, len(routes))}
	for trigger, route := range routes {
		if !IsTrigger(trigger) {
			return nil, fmt.Errorf("hook: unknown trigger %q", trigger)
		}
		if route.Invoker == nil {
			return nil, fmt.Errorf("hook: %s: nil invoker", trigger)
		}
		if err := checkLambdaVersion(trigger, route.LambdaVersion); err != nil {
			return nil, err
		}
		if route.LambdaVersion == "" {
			route.LambdaVersion = LambdaV1
		}
		r.routes[trigger] = route
	}
	return r, nil
}

// Configured reports whether trigger has a hook.
func (r *Router) Configured(trigger string) bool {
	if r == nil {
		return false
	}
	_, ok := r.routes[trigger]
	return ok
}

// LambdaVersion returns the event version of trigger's hook (LambdaV1 or
// LambdaV2), or "" when it has none. Build the event with the matching
// types: PreTokenGenerationV2Event and its "2" version for LambdaV2.
func (r *Router) LambdaVersion(trigger string) string {
	if r == nil {
		return ""
	}
	return r.routes[trigger].LambdaVersion
}

// Invoke sends ev to trigger's hook. For a trigger without one it returns
// an error wrapping ErrNotConfigured (a caller's mistake, not a client's).
func (r *Router) Invoke(ctx context.Context, trigger string, ev *Event) error {
	if err := checkInvocation(trigger, ev); err != nil {
		return err
	}
	if !r.Configured(trigger) {
		return fmt.Errorf("hook: %s: %w", trigger, ErrNotConfigured)
	}
	return r.routes[trigger].Invoker.Invoke(ctx, trigger, ev)
}

// checkLambdaVersion checks a trigger's LambdaVersion, as Cognito's
// LambdaConfig allows it.
func checkLambdaVersion(trigger, v string) error {
	switch {
	case v == "" || v == LambdaV1:
		return nil
	case v == LambdaV2 && trigger == PreTokenGeneration:
		return nil
	case trigger == PreTokenGeneration:
		return fmt.Errorf("hook: %s: lambda version %q: want %s or %s", trigger, v, LambdaV1, LambdaV2)
	}
	return fmt.Errorf("hook: %s: lambda version %q: only %s exists for this trigger", trigger, v, LambdaV1)
}
