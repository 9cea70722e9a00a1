package hook

import (
	"errors"
	"fmt"
	"maps"
	"slices"
)

// ErrNoWebhooks means a pool names webhooks but the server was built
// without a webhook transport.
var ErrNoWebhooks = errors.New("the pool has webhooks but this server has no webhook transport")

// Resolver finds what replaces a trigger of a pool: a Go function the
// program gave (for every pool), which takes precedence, else the pool's
// webhook. The engine's flow hooks and the delivery router's custom senders
// resolve through the same Resolver, so a trigger means the same to both.
type Resolver struct {
	// Webhooks carries the pools' webhooks; nil when no pool may use them.
	Webhooks *Webhooks
	// Funcs are in-process hooks by trigger; Versions their event
	// versions (LambdaV2 for PreTokenGeneration V2).
	Funcs    Funcs
	Versions map[string]string
}

// Route resolves one trigger of the pool whose configuration is c; ok is
// false when nothing replaces it (the built-in step runs).
func (r *Resolver) Route(c Config, trigger string) (route Route, ok bool, err error) {
	if f := r.Funcs[trigger]; f != nil {
		return Route{Invoker: Funcs{trigger: f}, LambdaVersion: r.Versions[trigger]}, true, nil
	}
	t, found := c.Triggers[trigger]
	if !found {
		return Route{}, false, nil
	}
	if r.Webhooks == nil {
		return Route{}, true, fmt.Errorf("hook: %s: %w", trigger, ErrNoWebhooks)
	}
	wh, err := r.Webhooks.Webhook(t.URL, c.secrets()...)
	if err != nil {
		return Route{}, true, fmt.Errorf("hook: %s: %w", trigger, err)
	}
	return Route{Invoker: wh, LambdaVersion: t.LambdaVersion}, true, nil
}

// Router resolves every trigger the pool or the program replaces; nil
// when nothing is replaced.
func (r *Resolver) Router(c Config) (*Router, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	routes := map[string]Route{}
	triggers := slices.Concat(slices.Collect(maps.Keys(c.Triggers)), slices.Collect(maps.Keys(r.Funcs)))
	for _, trigger := range triggers {
		route, ok, err := r.Route(c, trigger)
		if err != nil {
			return nil, err
		}
		if ok {
			routes[trigger] = route
		}
	}
	if len(routes) == 0 {
		return nil, nil
	}
	return NewRouter(routes)
}
