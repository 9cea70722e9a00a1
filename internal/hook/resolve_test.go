package hook_test

import (
	"context"
	"errors"
	"testing"

	"github.com/latchkey/latchkey/internal/hook"
)

// TestResolver: a program's function wins over the pool's webhook for the
// same trigger, a webhook serves its trigger, nothing serves the rest, and
// a pool with webhooks on a server without a transport is an error.
func TestResolver(t *testing.T) {
	cfg := hook.Config{
		Triggers: map[string]hook.TriggerConfig{
			hook.PreSignUp:           {URL: "https://hooks.example.com/pre-sign-up"},
			hook.DefineAuthChallenge: {URL: "https://hooks.example.com/define"},
		},
		Secret: testSecret(t),
	}
	fn := func(context.Context, *hook.Event) error { return nil }
	r := &hook.Resolver{Webhooks: hook.NewWebhooks(hook.WebhookOptions{}), Funcs: hook.Funcs{hook.PreSignUp: fn, hook.PostConfirmation: fn},
		Versions: map[string]string{hook.PostConfirmation: hook.LambdaV1}}
	tests := []struct {
		trigger string
		ok      bool
		local   bool
	}{
		{hook.PreSignUp, true, true},            // the function, not the webhook
		{hook.PostConfirmation, true, true},     // a function only
		{hook.DefineAuthChallenge, true, false}, // the webhook
		{hook.CreateAuthChallenge, false, false},
	}
	for _, tc := range tests {
		route, ok, err := r.Route(cfg, tc.trigger)
		if err != nil || ok != tc.ok {
			t.Errorf("%s: ok %v, err %v; want ok %v", tc.trigger, ok, err, tc.ok)
			continue
		}
		if _, local := route.Invoker.(hook.Funcs); ok && local != tc.local {
			t.Errorf("%s: a Go function: %v, want %v", tc.trigger, local, tc.local)
		}
	}
	router, err := r.Router(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range tests {
		if router.Configured(tc.trigger) != tc.ok {
			t.Errorf("Router: %s configured %v, want %v", tc.trigger, router.Configured(tc.trigger), tc.ok)
		}
	}
	if router, err := (&hook.Resolver{}).Router(hook.Config{}); router != nil || err != nil {
		t.Errorf("nothing to resolve: %v, %v; want nil, nil", router, err)
	}
	if _, err := (&hook.Resolver{}).Router(cfg); !errors.Is(err, hook.ErrNoWebhooks) {
		t.Errorf("webhooks without a transport: %v, want hook.ErrNoWebhooks", err)
	}
}
