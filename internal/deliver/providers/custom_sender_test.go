package providers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/latchkey/latchkey/internal/deliver"
	"github.com/latchkey/latchkey/internal/hook"
	"github.com/latchkey/latchkey/internal/pool"
)

func TestCustomSenderSource(t *testing.T) {
	for _, c := range []struct {
		trigger, purpose, want string
	}{
		{hook.CustomSMSSender, pool.PurposeSignUp, hook.SourceCustomSMSSenderSignUp},
		{hook.CustomSMSSender, "sign_in", hook.SourceCustomSMSSenderAuthentication},
		{hook.CustomSMSSender, pool.PurposeVerify(pool.AttrPhoneNumber), hook.SourceCustomSMSSenderVerifyUserAttribute},
		{hook.CustomEmailSender, pool.PurposeSignUp, hook.SourceCustomEmailSenderSignUp},
		{hook.CustomEmailSender, "sign_in", hook.SourceCustomEmailSenderAuthentication},
		{hook.CustomEmailSender, pool.PurposeVerify(pool.AttrEmail), hook.SourceCustomEmailSenderVerifyUserAttribute},
	} {
		got, err := customSenderSource(c.trigger, c.purpose)
		if err != nil || got != c.want {
			t.Errorf("%s %s: %q, %v; want %q", c.trigger, c.purpose, got, err, c.want)
		}
		if hook.TriggerOf(got) != c.trigger {
			t.Errorf("%s belongs to %q", got, hook.TriggerOf(got))
		}
	}
	if _, err := customSenderSource(hook.CustomSMSSender, "mystery"); err == nil {
		t.Error("an unknown purpose has a source")
	}
}

// fakeUsers finds users by identifier.
type fakeUsers map[string]pool.User

func (f fakeUsers) GetUserByIdentifier(_ context.Context, poolID, id string) (pool.User, error) {
	u, ok := f[poolID+"/"+id]
	if !ok {
		return pool.User{}, fmt.Errorf("user %s: %w", id, pool.ErrNotFound)
	}
	return u, nil
}

// senderCalls records the events of in-process custom senders.
type senderCalls struct {
	mu     sync.Mutex
	events []hook.CustomSMSSenderEvent
	err    error
}

func (s *senderCalls) fn(ctx context.Context, ev *hook.CustomSMSSenderEvent) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.events = append(s.events, *ev)
	return s.err
}

func (s *senderCalls) fail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.err = err
}

func (s *senderCalls) all() []hook.CustomSMSSenderEvent {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]hook.CustomSMSSenderEvent(nil), s.events...)
}

func setHooks(t *testing.T, f *fakePools, id string, c hook.Config) {
	t.Helper()
	raw, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	p := f.pools[id]
	p.ID, p.Region = id, "eu-west-1"
	p.Settings.Hooks = raw
	f.pools[id] = p
}

func TestRouterSendsCodesToTheCustomSender(t *testing.T) {
	ctx := context.Background()
	calls := &senderCalls{}
	pools := &fakePools{pools: map[string]pool.Pool{}}
	pools.setDelivery("p1", &pool.Delivery{
		SMS:            []pool.Provider{fake("a")},
		TestIdentities: []pool.TestIdentity{{Destination: "+14155550100", Code: "424242"}},
	})
	setHooks(t, pools, "p1", hook.Config{})
	kinds := &fakeKinds{senders: map[string]*fakeSender{}}
	fallback := &fakeSender{name: "fallback"}
	users := fakeUsers{"p1/+14155552671": {
		PoolID: "p1", Sub: "sub-1", Username: "+14155552671", Status: pool.StatusConfirmed,
		Attributes: map[string]string{"phone_number": "+14155552671", "phone_number_verified": "true", "locale": "fr"},
	}}
	r, err := NewRouter(RouterConfig{
		Pools: pools, Builder: &Builder{Kinds: kinds.kinds()}, Fallback: fallback, Users: users,
		HookFuncs: hook.Funcs{hook.CustomSMSSender: hook.Typed(calls.fn), hook.PreSignUp: func(context.Context, *hook.Event) error { return nil }},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !r.CanSend("p1", deliver.ChannelSMS) || !r.CanSend("p1", deliver.ChannelEmail) {
		t.Fatal("CanSend is false")
	}
	if err := r.Send(ctx, msgFor("p1", deliver.ChannelSMS, "+14155552671")); err != nil {
		t.Fatal(err)
	}
	// An unknown number, a verification code and a test identity.
	verify := msgFor("p1", deliver.ChannelSMS, "+14155552672")
	verify.Purpose = pool.PurposeVerify(pool.AttrPhoneNumber)
	for _, m := range []deliver.Message{msgFor("p1", deliver.ChannelSMS, "+14155559999"), verify, msgFor("p1", deliver.ChannelSMS, "+14155550100")} {
		if err := r.Send(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	// Email has no custom sender: the fallback sends it.
	if err := r.Send(ctx, msgFor("p1", deliver.ChannelEmail, "a@example.com")); err != nil {
		t.Fatal(err)
	}

	evs := calls.all()
	if len(evs) != 3 {
		t.Fatalf("%d hook calls, want 3 (the test identity is never sent)", len(evs))
	}
	ev := evs[0]
	if ev.TriggerSource != hook.SourceCustomSMSSenderAuthentication || ev.Version != "1" || ev.Region != "eu-west-1" ||
		ev.UserPoolID != "p1" || ev.UserName != "+14155552671" || ev.Request.Type != hook.CustomSMSSenderRequestV1 ||
		ev.Request.Code != "123456" || ev.Request.UserAttributes["sub"] != "sub-1" || ev.Request.UserAttributes["locale"] != "fr" ||
		ev.Request.UserAttributes["cognito:user_status"] != "CONFIRMED" {
		t.Errorf("event = %+v, request %+v", ev.Header, ev.Request.UserAttributes)
	}
	for i, want := range []struct{ source, user string }{
		{hook.SourceCustomSMSSenderAuthentication, "+14155559999"},
		{hook.SourceCustomSMSSenderVerifyUserAttribute, "+14155552672"},
	} {
		ev := evs[i+1]
		if ev.TriggerSource != want.source || ev.UserName != want.user || len(ev.Request.UserAttributes) != 1 || ev.Request.UserAttributes["phone_number"] != want.user {
			t.Errorf("event %d: %s for %s, attributes %v", i+1, ev.TriggerSource, ev.UserName, ev.Request.UserAttributes)
		}
	}
	if tries, _ := kinds.sender("a").count(); tries != 0 {
		t.Errorf("the pool's provider was tried %d times", tries)
	}
	if _, sent := fallback.count(); sent != 1 {
		t.Errorf("fallback sent %d, want only the email", sent)
	}

	// Failures: the hook's own error is permanent, an unreachable hook
	// transient; neither falls over to the providers.
	for _, c := range []struct {
		err       error
		transient bool
	}{
		{errors.New("number blocked"), false},
		{&pool.Error{Kind: pool.KindUnexpectedLambda, Message: "CustomSMSSender invocation failed: the hook could not be reached."}, true},
		{&pool.Error{Kind: pool.KindInvalidLambdaResponse, Message: "Invalid CustomSMSSender response: too large."}, false},
	} {
		calls.fail(c.err)
		err := r.Send(ctx, msgFor("p1", deliver.ChannelSMS, "+14155552671"))
		var pe *deliver.ProviderError
		if !errors.As(err, &pe) || pe.Transient != c.transient || pe.Provider != "CustomSMSSender hook" {
			t.Errorf("hook error %v: Send = %v, want a ProviderError, transient %v", c.err, err, c.transient)
		}
	}
	if tries, _ := kinds.sender("a").count(); tries != 0 {
		t.Errorf("the pool's provider was tried %d times after the hook failed", tries)
	}
}

func TestRouterCustomSenderWebhooks(t *testing.T) {
	ctx := context.Background()
	secret, err := hook.NewSecret(strings.NewReader(strings.Repeat("k", 64)))
	if err != nil {
		t.Fatal(err)
	}
	clock := newClock()
	pools := &fakePools{pools: map[string]pool.Pool{}}
	pools.setDelivery("p1", nil)
	setHooks(t, pools, "p1", hook.Config{
		Triggers: map[string]hook.TriggerConfig{hook.CustomSMSSender: {URL: "https://hooks.example.com/sms?token=t0ps3cret"}},
		Secret:   secret,
	})
	fallback := &fakeSender{name: "fallback"}

	// Without a webhook transport the pool cannot send SMS: never to the
	// fallback instead.
	r, err := NewRouter(RouterConfig{Pools: pools, Fallback: fallback, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	if r.CanSend("p1", deliver.ChannelSMS) {
		t.Error("CanSend(sms) without a webhook transport")
	}
	if !r.CanSend("p1", deliver.ChannelEmail) {
		t.Error("CanSend(email) is false")
	}
	err = r.Send(ctx, msgFor("p1", deliver.ChannelSMS, "+14155552671"))
	if !deliver.IsTransient(err) || !strings.Contains(err.Error(), "no webhook transport") || strings.Contains(err.Error(), "t0ps3cret") {
		t.Errorf("Send without a transport = %v", err)
	}
	if _, sent := fallback.count(); sent != 0 {
		t.Error("the fallback sent a custom sender's message")
	}

	// With one, the hook is used; a change of the hooks is picked up at
	// the next reload.
	r, err = NewRouter(RouterConfig{Pools: pools, Fallback: fallback, Now: clock.Now, Webhooks: hook.NewWebhooks(hook.WebhookOptions{})})
	if err != nil {
		t.Fatal(err)
	}
	rt, err := r.route(ctx, "p1", deliver.ChannelSMS)
	if err != nil || rt.custom == nil || rt.customErr != nil || rt.custom.trigger != hook.CustomSMSSender {
		t.Fatalf("route = %+v, %v", rt, err)
	}
	if !r.CanSend("p1", deliver.ChannelSMS) {
		t.Error("CanSend(sms) is false")
	}
	setHooks(t, pools, "p1", hook.Config{})
	clock.Advance(DefaultReload)
	if rt, _ := r.route(ctx, "p1", deliver.ChannelSMS); rt.custom != nil {
		t.Error("the removed custom sender is still used after the reload")
	}

	// Hooks that cannot be read hold the pool's messages (transient).
	pools.mu.Lock()
	p := pools.pools["p1"]
	p.Settings.Hooks = json.RawMessage(`{"triggers": {"Nope": {}}}`)
	pools.pools["p1"] = p
	pools.mu.Unlock()
	clock.Advance(DefaultReload)
	err = r.Send(ctx, msgFor("p1", deliver.ChannelEmail, "a@example.com"))
	if !deliver.IsTransient(err) || r.CanSend("p1", deliver.ChannelEmail) {
		t.Errorf("Send with unreadable hooks = %v", err)
	}
}
