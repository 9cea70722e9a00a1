package providers

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/deliver"
	"github.com/latchkey/latchkey/internal/hook"
	"github.com/latchkey/latchkey/internal/pool"
)

// webhookPoolID is a pool ID of Cognito's shape, whose region the events
// carry.
const webhookPoolID = "eu-west-1_AbCdEfGhI"

// webhookCode is the code of the webhook tests' messages: distinctive, so
// that finding it in an error or a log line means it leaked.
const webhookCode = "864209"

func webhookSecret(t *testing.T) string {
	t.Helper()
	secret, err := hook.NewSecret(strings.NewReader(strings.Repeat("w", 64)))
	if err != nil {
		t.Fatal(err)
	}
	return secret
}

// receivedEvent is a custom sender event as a receiver reads it, by
// Cognito's JSON names.
type receivedEvent struct {
	Path          string `json:"-"`
	Version       string `json:"version"`
	TriggerSource string `json:"triggerSource"`
	Region        string `json:"region"`
	UserPoolID    string `json:"userPoolId"`
	UserName      string `json:"userName"`
	Request       struct {
		Type           string            `json:"type"`
		Code           string            `json:"code"`
		UserAttributes map[string]string `json:"userAttributes"`
	} `json:"request"`
}

// eventReceiver is a webhook on 127.0.0.1 that verifies each request's
// signature, records its event and answers with answer (204 when nil).
type eventReceiver struct {
	URL    string
	mu     sync.Mutex
	events []receivedEvent
}

func newEventReceiver(t *testing.T, secret string, answer http.HandlerFunc) *eventReceiver {
	t.Helper()
	rcv := &eventReceiver{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("receiver: read body: %v", err)
			return
		}
		if err := hook.Verify(secret, r.Header, body, time.Now(), 0); err != nil {
			t.Errorf("receiver: signature: %v", err)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		ev := receivedEvent{Path: r.URL.Path}
		if err := json.Unmarshal(body, &ev); err != nil {
			t.Errorf("receiver: event: %v", err)
		}
		rcv.mu.Lock()
		rcv.events = append(rcv.events, ev)
		rcv.mu.Unlock()
		if answer == nil {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		answer(w, r)
	}))
	t.Cleanup(srv.Close)
	rcv.URL = srv.URL
	return rcv
}

func (r *eventReceiver) received() []receivedEvent {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]receivedEvent(nil), r.events...)
}

// answerWith answers with status and a JSON body.
func answerWith(status int, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}
}

// webhookProvider is a webhook provider at url whose secret is in the
// environment variable HOOK_SECRET.
func webhookProvider(url string) pool.Provider {
	cfg, _ := json.Marshal(map[string]string{"url": url})
	return pool.Provider{Type: TypeWebhook, Config: cfg,
		Secrets: map[string]pool.SecretRef{secretSigningSecret: {Env: "HOOK_SECRET"}}}
}

func webhookMessage(ch deliver.Channel, to, purpose string) deliver.Message {
	return deliver.Message{PoolID: webhookPoolID, Channel: ch, To: to, Subject: "Your code",
		Body: "Your code is " + webhookCode, Code: webhookCode, Purpose: purpose}
}

func TestWebhookProviderDelivers(t *testing.T) {
	ctx := context.Background()
	secret := webhookSecret(t)
	rcv := newEventReceiver(t, secret, nil)
	pools := &fakePools{pools: map[string]pool.Pool{}}
	pools.setDelivery(webhookPoolID, &pool.Delivery{
		SMS:   []pool.Provider{webhookProvider(rcv.URL + "/sms?token=t0ps3cret")},
		Email: []pool.Provider{webhookProvider(rcv.URL + "/email")},
	})
	users := fakeUsers{webhookPoolID + "/+14155552671": {
		PoolID: webhookPoolID, Sub: "sub-1", Username: "+14155552671", Status: pool.StatusConfirmed,
		Attributes: map[string]string{"phone_number": "+14155552671", "phone_number_verified": "true", "locale": "fr"},
	}}
	// The Builder has no transport and no users: the Router gives it its own.
	b := &Builder{Getenv: func(k string) string { return map[string]string{"HOOK_SECRET": secret}[k] }}
	r, err := NewRouter(RouterConfig{Pools: pools, Builder: b, Users: users, Webhooks: hook.NewWebhooks(hook.WebhookOptions{})})
	if err != nil {
		t.Fatal(err)
	}
	if b.Webhooks != nil || b.Users != nil {
		t.Error("NewRouter changed the caller's Builder")
	}

	tests := []struct {
		name     string
		msg      deliver.Message
		path     string
		source   string
		typ      string
		userName string
		attrs    map[string]string
	}{
		{"sms sign-in of a known user", webhookMessage(deliver.ChannelSMS, "+14155552671", pool.PurposeSignIn),
			"/sms", hook.SourceCustomSMSSenderAuthentication, hook.CustomSMSSenderRequestV1, "+14155552671",
			map[string]string{"sub": "sub-1", "phone_number": "+14155552671", "phone_number_verified": "true", "locale": "fr", "cognito:user_status": "CONFIRMED"}},
		{"sms verification of a new number", webhookMessage(deliver.ChannelSMS, "+14155552672", pool.PurposeVerify(pool.AttrPhoneNumber)),
			"/sms", hook.SourceCustomSMSSenderVerifyUserAttribute, hook.CustomSMSSenderRequestV1, "+14155552672",
			map[string]string{"phone_number": "+14155552672"}},
		{"email sign-up", webhookMessage(deliver.ChannelEmail, "new@example.com", pool.PurposeSignUp),
			"/email", hook.SourceCustomEmailSenderSignUp, hook.CustomEmailSenderRequestV1, "new@example.com",
			map[string]string{"email": "new@example.com"}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !r.CanSend(webhookPoolID, tt.msg.Channel) {
				t.Fatalf("CanSend(%s) is false", tt.msg.Channel)
			}
			if err := r.Send(ctx, tt.msg); err != nil {
				t.Fatalf("Send = %v", err)
			}
			evs := rcv.received()
			if len(evs) != i+1 {
				t.Fatalf("%d events received, want %d", len(evs), i+1)
			}
			ev := evs[i]
			if ev.Path != tt.path || ev.Version != "1" || ev.TriggerSource != tt.source || ev.Region != "eu-west-1" ||
				ev.UserPoolID != webhookPoolID || ev.UserName != tt.userName {
				t.Errorf("event %+v, want %s at %s for %s", ev, tt.source, tt.path, tt.userName)
			}
			if ev.Request.Type != tt.typ || ev.Request.Code != webhookCode {
				t.Errorf("request type %q, code %q; want %q and the message's code", ev.Request.Type, ev.Request.Code, tt.typ)
			}
			if len(ev.Request.UserAttributes) != len(tt.attrs) {
				t.Errorf("userAttributes %v, want %v", ev.Request.UserAttributes, tt.attrs)
			}
			for k, v := range tt.attrs {
				if ev.Request.UserAttributes[k] != v {
					t.Errorf("userAttributes[%s] = %q, want %q", k, ev.Request.UserAttributes[k], v)
				}
			}
		})
	}
}

func TestWebhookProviderFailover(t *testing.T) {
	secret := webhookSecret(t)
	// Each test gets its receivers fresh; name them by what they answer.
	type receivers map[string]*eventReceiver
	newReceivers := func(t *testing.T) receivers {
		closed := httptest.NewServer(http.NotFoundHandler())
		closed.Close()
		return receivers{
			"ok": newEventReceiver(t, secret, nil),
			// An error answer that echoes the code, as a careless receiver's may.
			"500":     newEventReceiver(t, secret, answerWith(http.StatusInternalServerError, `{"errorMessage":"code `+webhookCode+` refused"}`)),
			"503":     newEventReceiver(t, secret, answerWith(http.StatusServiceUnavailable, `{"message":"maintenance"}`)),
			"toolong": newEventReceiver(t, secret, answerWith(http.StatusOK, strings.Repeat(" ", 2048))),
			"slow": newEventReceiver(t, secret, func(w http.ResponseWriter, r *http.Request) {
				<-r.Context().Done()
			}),
			"unreachable": {URL: closed.URL},
		}
	}
	tests := []struct {
		name string
		// chain lists the providers: a receiver's name, or "fake:X" for the
		// fake sender X, "fake-down:X" for one failing transiently.
		chain         []string
		wantBy        int // the link that delivers; -1 for none
		wantTransient []bool
		wantEvents    map[string]int
	}{
		{"webhook answers 500: the next provider delivers", []string{"500", "fake:b"}, 1, []bool{false}, map[string]int{"500": 1}},
		{"webhook unavailable: the next provider delivers", []string{"503", "fake:b"}, 1, []bool{true}, map[string]int{"503": 1}},
		{"webhook unreachable: the next provider delivers", []string{"unreachable", "fake:b"}, 1, []bool{true}, nil},
		{"webhook too slow: the next provider delivers", []string{"slow", "fake:b"}, 1, []bool{true}, map[string]int{"slow": 1}},
		{"webhook answer too large: the next provider delivers", []string{"toolong", "fake:b"}, 1, []bool{false}, map[string]int{"toolong": 1}},
		{"provider down: the webhook delivers", []string{"fake-down:a", "ok"}, 1, []bool{true}, map[string]int{"ok": 1}},
		{"webhook fails: the second webhook delivers", []string{"500", "ok"}, 1, []bool{false}, map[string]int{"500": 1, "ok": 1}},
		{"webhook first: it delivers", []string{"ok", "fake:b"}, 0, nil, map[string]int{"ok": 1}},
		{"all fail: transient when one is", []string{"500", "unreachable"}, -1, []bool{false, true}, map[string]int{"500": 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rcvs := newReceivers(t)
			kinds := &fakeKinds{senders: map[string]*fakeSender{}}
			var logs bytes.Buffer
			log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug,
				// Times and durations are digits that could match the code.
				ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
					if a.Key == slog.TimeKey || a.Key == "duration" {
						return slog.Attr{}
					}
					return a
				}}))
			b := &Builder{
				Kinds:    kinds.kinds(),
				Getenv:   func(k string) string { return map[string]string{"HOOK_SECRET": secret}[k] },
				Webhooks: hook.NewWebhooks(hook.WebhookOptions{Timeout: 300 * time.Millisecond, MaxResponseBytes: 1024, Logger: log}),
			}
			var ps []pool.Provider
			for _, p := range tt.chain {
				kind, name, _ := strings.Cut(p, ":")
				switch kind {
				case "fake":
					ps = append(ps, fake(name))
				case "fake-down":
					kinds.sender(name).set(errDown)
					ps = append(ps, fake(name))
				default:
					ps = append(ps, webhookProvider(rcvs[p].URL+"/sms"))
				}
			}
			links := b.Links(context.Background(), deliver.ChannelSMS, ps)
			for _, l := range links {
				if l.Err != nil {
					t.Fatalf("%s: %v", l.Name, l.Err)
				}
			}
			m := webhookMessage(deliver.ChannelSMS, "+14155552671", pool.PurposeSignIn)
			attempts, err := NewChain(links, ChainOptions{Logger: log}).Deliver(context.Background(), m)

			if tt.wantBy >= 0 {
				if err != nil {
					t.Fatalf("Deliver = %v, want delivered by %s", err, links[tt.wantBy].Name)
				}
				if last := attempts[len(attempts)-1]; last.Provider != links[tt.wantBy].Name {
					t.Errorf("delivered by %s, want %s", last.Provider, links[tt.wantBy].Name)
				}
			} else if err == nil || deliver.IsTransient(err) != tt.wantTransient[len(tt.wantTransient)-1] {
				t.Errorf("Deliver = %v, want a failure, transient %v", err, tt.wantTransient[len(tt.wantTransient)-1])
			}
			for i, transient := range tt.wantTransient {
				var pe *deliver.ProviderError
				if !errors.As(attempts[i].Err, &pe) || pe.Transient != transient {
					t.Errorf("attempt %d (%s): %v, want a ProviderError, transient %v", i, attempts[i].Provider, attempts[i].Err, transient)
				}
			}
			for name, rcv := range rcvs {
				if got := len(rcv.received()); got != tt.wantEvents[name] {
					t.Errorf("receiver %s got %d events, want %d", name, got, tt.wantEvents[name])
				}
			}
			if tt.chain[len(tt.chain)-1] == "fake:b" && tt.wantBy == 1 {
				if _, sent := kinds.sender("b").count(); sent != 1 {
					t.Errorf("fake b delivered %d, want 1", sent)
				}
			}

			// The code is in no error and no log line; the URL's path is in
			// neither either.
			texts := []string{logs.String()}
			if err != nil {
				texts = append(texts, err.Error())
			}
			for _, a := range attempts {
				if a.Err != nil {
					texts = append(texts, a.Err.Error())
				}
			}
			for _, text := range texts {
				if strings.Contains(text, webhookCode) || strings.Contains(text, "/sms") {
					t.Errorf("the code or the URL's path leaked: %s", text)
				}
			}
		})
	}
}

func TestWebhookProviderValidation(t *testing.T) {
	secretRef := map[string]pool.SecretRef{secretSigningSecret: {Env: "HOOK_SECRET"}}
	tests := []struct {
		name    string
		ch      deliver.Channel
		config  string
		secrets map[string]pool.SecretRef
		want    string // "" for valid
	}{
		{"https", deliver.ChannelSMS, `{"url":"https://hooks.example.com/sms?token=t0ps3cret"}`, secretRef, ""},
		{"http to loopback", deliver.ChannelEmail, `{"url":"http://127.0.0.1:8080/email"}`, secretRef, ""},
		{"http to localhost", deliver.ChannelSMS, `{"url":"http://localhost:8080/sms"}`, secretRef, ""},
		{"missing url", deliver.ChannelSMS, `{}`, secretRef, `sms[0] (webhook): config: url is required`},
		{"no config", deliver.ChannelEmail, ``, secretRef, `email[0] (webhook): config: url is required`},
		{"http to another host", deliver.ChannelSMS, `{"url":"http://hooks.example.com/sms?token=t0ps3cret"}`, secretRef, `config: url must use https`},
		{"another scheme", deliver.ChannelSMS, `{"url":"ftp://hooks.example.com/sms"}`, secretRef, `config: url must start with https://`},
		{"relative url", deliver.ChannelSMS, `{"url":"/sms"}`, secretRef, `config: url must`},
		{"user in url", deliver.ChannelSMS, `{"url":"https://me:t0ps3cret@hooks.example.com/sms"}`, secretRef, `config: url must not hold a user name or password`},
		{"unknown field", deliver.ChannelSMS, `{"url":"https://hooks.example.com/sms","timeout":"5s"}`, secretRef, `config: unknown field "timeout" (known: url)`},
		{"url not a string", deliver.ChannelSMS, `{"url":42}`, secretRef, `config:`},
		{"secret in config", deliver.ChannelSMS, `{"url":"https://hooks.example.com/sms","signing_secret":"whsec_t0ps3cret"}`, secretRef,
			`config field "signing_secret" is a secret and is never stored`},
		{"missing signing_secret", deliver.ChannelSMS, `{"url":"https://hooks.example.com/sms"}`, nil, `secret signing_secret is required`},
		{"unknown secret", deliver.ChannelSMS, `{"url":"https://hooks.example.com/sms"}`, map[string]pool.SecretRef{"token": {Env: "X"}},
			`secret "token": provider type "webhook" takes only signing_secret`},
		{"bad secret reference", deliver.ChannelSMS, `{"url":"https://hooks.example.com/sms"}`, map[string]pool.SecretRef{secretSigningSecret: {File: "relative"}},
			`secret signing_secret: file "relative" must be an absolute path`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := pool.Provider{Type: TypeWebhook, Config: json.RawMessage(tt.config), Secrets: tt.secrets}
			d := &pool.Delivery{}
			if tt.ch == deliver.ChannelSMS {
				d.SMS = []pool.Provider{p}
			} else {
				d.Email = []pool.Provider{p}
			}
			// Validate's Builder has no webhook transport.
			err := Validate(d, pool.DefaultSettings())
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Validate = %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Validate = %v\nwant an error containing %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "t0ps3cret") {
				t.Errorf("error %q repeats the URL's token or a secret", err)
			}
		})
	}
}

func TestWebhookProviderBuild(t *testing.T) {
	ctx := context.Background()
	secret := webhookSecret(t)
	env := map[string]string{"HOOK_SECRET": secret, "BAD_SECRET": "t0ps3cret"}
	getenv := func(k string) string { return env[k] }
	transport := hook.NewWebhooks(hook.WebhookOptions{})
	provider := func(ref string) pool.Provider {
		p := webhookProvider("https://hooks.example.com/sms")
		p.Secrets[secretSigningSecret] = pool.SecretRef{Env: ref}
		return p
	}
	tests := []struct {
		name     string
		builder  *Builder
		ch       deliver.Channel
		provider pool.Provider
		want     string // "" when it builds
	}{
		{"sms", &Builder{Getenv: getenv, Webhooks: transport}, deliver.ChannelSMS, provider("HOOK_SECRET"), ""},
		{"email", &Builder{Getenv: getenv, Webhooks: transport}, deliver.ChannelEmail, provider("HOOK_SECRET"), ""},
		{"no transport", &Builder{Getenv: getenv}, deliver.ChannelSMS, provider("HOOK_SECRET"), `needs the server's webhook transport`},
		{"secret not set", &Builder{Getenv: getenv, Webhooks: transport}, deliver.ChannelSMS, provider("UNSET"),
			`secret signing_secret: environment variable UNSET is not set or empty`},
		{"secret malformed", &Builder{Getenv: getenv, Webhooks: transport}, deliver.ChannelSMS, provider("BAD_SECRET"),
			`secret signing_secret: webhook secret must be whsec_`},
		{"no secret", &Builder{Getenv: getenv, Webhooks: transport}, deliver.ChannelSMS,
			pool.Provider{Type: TypeWebhook, Config: json.RawMessage(`{"url":"https://hooks.example.com/sms"}`)}, `secret signing_secret is required`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := tt.builder.Links(ctx, tt.ch, []pool.Provider{tt.provider})[0]
			if tt.want == "" {
				if l.Err != nil || l.Sender == nil {
					t.Fatalf("%s: not built: %v", l.Name, l.Err)
				}
				return
			}
			if l.Err == nil || !strings.Contains(l.Err.Error(), tt.want) {
				t.Fatalf("%s: err = %v, want one containing %q", l.Name, l.Err, tt.want)
			}
			if strings.Contains(l.Err.Error(), "t0ps3cret") || strings.Contains(l.Err.Error(), secret) {
				t.Errorf("error %q reveals a secret", l.Err)
			}
		})
	}
}

func TestRegionOf(t *testing.T) {
	for _, tt := range []struct{ poolID, want string }{
		{"eu-west-1_AbCdEfGhI", "eu-west-1"},
		{"us-gov-west-1_AbCdEfGhI", "us-gov-west-1"},
		{"local_pool", "local"},
		{"p1", ""},
		{"", ""},
	} {
		if got := regionOf(tt.poolID); got != tt.want {
			t.Errorf("regionOf(%q) = %q, want %q", tt.poolID, got, tt.want)
		}
	}
}

func TestWithoutCode(t *testing.T) {
	cause := &pool.Error{Kind: pool.KindUserLambdaValidation, Message: "CustomSMSSender failed with error code 864209 refused."}
	for _, tt := range []struct {
		name string
		err  error
		code string
		want string
	}{
		{"code replaced", cause, "864209", "CustomSMSSender failed with error code [redacted] refused."},
		{"no code in the text", cause, "111111", cause.Error()},
		{"no code in the message", cause, "", cause.Error()},
		{"nil", nil, "864209", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := withoutCode(tt.err, tt.code)
			if tt.err == nil {
				if got != nil {
					t.Fatalf("withoutCode(nil) = %v", got)
				}
				return
			}
			if got.Error() != tt.want {
				t.Errorf("text %q, want %q", got.Error(), tt.want)
			}
			if !errors.Is(got, cause) || pool.KindOf(got) != pool.KindUserLambdaValidation {
				t.Error("the redacted error does not wrap its cause")
			}
		})
	}
}
