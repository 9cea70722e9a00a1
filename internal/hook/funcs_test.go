package hook_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/hook"
	"github.com/latchkey/latchkey/internal/pool"
)

func TestFuncsTyped(t *testing.T) {
	funcs := hook.Funcs{
		hook.PreSignUp: hook.Typed(func(ctx context.Context, ev *hook.PreSignUpEvent) error {
			if _, ok := ev.Request.UserAttributes["phone_number"]; ok {
				ev.Response.AutoConfirmUser = true
				ev.Response.AutoVerifyPhone = true
			}
			return nil
		}),
	}
	ev := preSignUpEvent(t)
	if err := funcs.Invoke(t.Context(), hook.PreSignUp, ev); err != nil {
		t.Fatal(err)
	}
	resp, err := hook.DecodePreSignUp(ev.Response)
	if err != nil {
		t.Fatal(err)
	}
	if !resp.AutoConfirmUser || !resp.AutoVerifyPhone {
		t.Errorf("response = %+v", resp)
	}
}

func TestFuncsErrors(t *testing.T) {
	const code = "550021"
	tests := []struct {
		name    string
		trigger string
		fn      hook.Func
		ctx     func() context.Context
		kind    pool.Kind
		message string
	}{
		{"returned error", hook.PreSignUp, func(context.Context, *hook.Event) error { return errors.New("nope") },
			nil, pool.KindUserLambdaValidation, "PreSignUp failed with error nope."},
		{"returned pool error of another kind", hook.PreSignUp, func(context.Context, *hook.Event) error {
			return &pool.Error{Kind: pool.KindInvalidParameter, Message: "bad email", Err: errors.New("internal detail")}
		}, nil, pool.KindUserLambdaValidation, "PreSignUp failed with error bad email."},
		{"returned hook error is kept", hook.PreSignUp, func(context.Context, *hook.Event) error {
			return &pool.Error{Kind: pool.KindUnexpectedLambda, Message: "backend down"}
		}, nil, pool.KindUnexpectedLambda, "backend down"},
		{"panic", hook.CustomSMSSender, func(context.Context, *hook.Event) error { panic("cannot send " + code) },
			nil, pool.KindUnexpectedLambda, "CustomSMSSender invocation failed: the hook function panicked."},
		{"response not an object", hook.PreSignUp, func(_ context.Context, ev *hook.Event) error {
			ev.Response = json.RawMessage(`"confirmed"`)
			return nil
		}, nil, pool.KindInvalidLambdaResponse, "Invalid PreSignUp response: response must be a JSON object, not a string."},
		{"response not JSON", hook.PreSignUp, func(_ context.Context, ev *hook.Event) error {
			ev.Response = json.RawMessage(`{autoConfirmUser: true}`)
			return nil
		}, nil, pool.KindInvalidLambdaResponse, "Invalid PreSignUp response: response is not valid JSON."},
		{"wrong shape", hook.VerifyAuthChallengeResponse, func(_ context.Context, ev *hook.Event) error {
			ev.Response = json.RawMessage(`{"answerCorrect":"yes"}`)
			return nil
		}, nil, pool.KindInvalidLambdaResponse, "Invalid VerifyAuthChallengeResponse response: answerCorrect must be a boolean, not a string."},
		{"returns after the deadline", hook.PreSignUp, func(ctx context.Context, ev *hook.Event) error {
			time.Sleep(30 * time.Millisecond) // ignores ctx
			return nil
		}, func() context.Context {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
			t.Cleanup(cancel)
			return ctx
		}, pool.KindUnexpectedLambda, "PreSignUp invocation failed: the hook did not answer in time."},
		{"returns the deadline", hook.PreSignUp, func(ctx context.Context, ev *hook.Event) error {
			<-ctx.Done()
			return ctx.Err()
		}, func() context.Context {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
			t.Cleanup(cancel)
			return ctx
		}, pool.KindUnexpectedLambda, "PreSignUp invocation failed: the hook did not answer in time."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := t.Context()
			if tt.ctx != nil {
				ctx = tt.ctx()
			}
			ev := eventFor(t, tt.trigger)
			before := string(ev.Response)
			err := hook.Funcs{tt.trigger: tt.fn}.Invoke(ctx, tt.trigger, ev)
			assertHookError(t, err, tt.kind, tt.message)
			if strings.Contains(err.Error(), code) {
				t.Errorf("the error shows the code: %v", err)
			}
			if string(ev.Response) != before {
				t.Errorf("a failed call changed the response to %s", ev.Response)
			}
		})
	}
}

func TestFuncsNotConfigured(t *testing.T) {
	err := hook.Funcs{}.Invoke(t.Context(), hook.PreSignUp, preSignUpEvent(t))
	if !errors.Is(err, hook.ErrNotConfigured) {
		t.Fatalf("err = %v, want ErrNotConfigured", err)
	}
}

func TestRouter(t *testing.T) {
	var calls []string
	record := func(name string) hook.Func {
		return func(context.Context, *hook.Event) error {
			calls = append(calls, name)
			return nil
		}
	}
	funcs := hook.Funcs{hook.PreSignUp: record("signup"), hook.PreTokenGeneration: record("tokens")}
	r, err := hook.NewRouter(map[string]hook.Route{
		hook.PreSignUp:          {Invoker: funcs},
		hook.PreTokenGeneration: {Invoker: funcs, LambdaVersion: hook.LambdaV2},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !r.Configured(hook.PreSignUp) || r.Configured(hook.DefineAuthChallenge) {
		t.Error("Configured is wrong")
	}
	if r.LambdaVersion(hook.PreSignUp) != hook.LambdaV1 || r.LambdaVersion(hook.PreTokenGeneration) != hook.LambdaV2 || r.LambdaVersion(hook.PostConfirmation) != "" {
		t.Error("LambdaVersion is wrong")
	}
	if err := r.Invoke(t.Context(), hook.PreSignUp, preSignUpEvent(t)); err != nil {
		t.Fatal(err)
	}
	if err := r.Invoke(t.Context(), hook.PostConfirmation, eventFor(t, hook.PostConfirmation)); !errors.Is(err, hook.ErrNotConfigured) {
		t.Errorf("unconfigured trigger: %v", err)
	}
	if err := r.Invoke(t.Context(), hook.PreSignUp, eventFor(t, hook.PostConfirmation)); err == nil {
		t.Error("an event of another trigger was sent")
	}
	if len(calls) != 1 || calls[0] != "signup" {
		t.Errorf("calls = %v", calls)
	}

	var nilRouter *hook.Router
	if nilRouter.Configured(hook.PreSignUp) || nilRouter.LambdaVersion(hook.PreSignUp) != "" {
		t.Error("a nil Router has hooks")
	}

	for name, routes := range map[string]map[string]hook.Route{
		"unknown trigger":  {"CustomMessage": {Invoker: funcs}},
		"nil invoker":      {hook.PreSignUp: {}},
		"v2 for presignup": {hook.PreSignUp: {Invoker: funcs, LambdaVersion: hook.LambdaV2}},
		"v3 tokens":        {hook.PreTokenGeneration: {Invoker: funcs, LambdaVersion: "V3_0"}},
	} {
		if _, err := hook.NewRouter(routes); err == nil {
			t.Errorf("%s: NewRouter succeeded", name)
		}
	}
}

// TestRoutesWithFuncs: a program embedding Latchkey replaces a configured
// webhook with a Go function.
func TestRoutesWithFuncs(t *testing.T) {
	w := newWebhooks(hook.WebhookOptions{})
	routes, err := w.Routes(hook.Config{
		Triggers: map[string]hook.TriggerConfig{
			hook.PreSignUp:          {URL: "https://hooks.example.com/signup"},
			hook.PreTokenGeneration: {URL: "https://hooks.example.com/tokens", LambdaVersion: hook.LambdaV2},
		},
		Secret: testSecret(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	called := false
	routes[hook.PreSignUp] = hook.Route{Invoker: hook.Funcs{hook.PreSignUp: func(context.Context, *hook.Event) error {
		called = true
		return nil
	}}}
	r, err := hook.NewRouter(routes)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Invoke(t.Context(), hook.PreSignUp, preSignUpEvent(t)); err != nil || !called {
		t.Fatalf("Invoke = %v, called = %v", err, called)
	}
	if r.LambdaVersion(hook.PreTokenGeneration) != hook.LambdaV2 {
		t.Error("the webhook route lost its Lambda version")
	}
}
