package auth_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/auth"
	"github.com/latchkey/latchkey/internal/hook"
	"github.com/latchkey/latchkey/internal/pool"
)

// engineWithHookFuncs is an engine whose hooks are Go functions, as a program
// embedding Latchkey passes them.
func engineWithHookFuncs(t *testing.T, funcs hook.Funcs, versions map[string]string, change func(*pool.Settings)) (*auth.Engine, pool.Pool, pool.Client, *lastCodes) {
	t.Helper()
	ctx := context.Background()
	st := stores[0].open(t)
	t.Cleanup(func() { st.Close() })
	codes := &lastCodes{codes: map[string]string{}}
	e, err := auth.New(auth.Config{Store: st, Sender: codes, PublicURL: "http://127.0.0.1:8080", HookFuncs: funcs, HookVersions: versions})
	if err != nil {
		t.Fatal(err)
	}
	s := roomySettings()
	if change != nil {
		change(&s)
	}
	p, err := e.CreatePool(ctx, "test", "local", s)
	if err != nil {
		t.Fatal(err)
	}
	c, err := e.CreateClient(ctx, p.ID, auth.ClientOptions{Name: "test"})
	if err != nil {
		t.Fatal(err)
	}
	return e, p, c, codes
}

// hookCallLog records the trigger sources a set of hook functions saw.
type hookCallLog struct {
	mu      sync.Mutex
	sources []string
}

func (c *hookCallLog) add(s string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sources = append(c.sources, s)
}

func (c *hookCallLog) list() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.sources...)
}

func TestSignUpHooksAsGoFunctions(t *testing.T) {
	ctx := context.Background()
	seen := &hookCallLog{}
	funcs := hook.Funcs{
		hook.PreSignUp: hook.Typed(func(_ context.Context, ev *hook.PreSignUpEvent) error {
			seen.add(ev.TriggerSource)
			if ev.Request.ValidationData["invite"] != "yes" {
				return errors.New("Invitation required")
			}
			ev.Response.AutoConfirmUser = ev.Request.ClientMetadata["confirm"] == "yes"
			ev.Response.AutoVerifyPhone = ev.Response.AutoConfirmUser
			return nil
		}),
		hook.PostConfirmation: hook.Typed(func(_ context.Context, ev *hook.PostConfirmationEvent) error {
			seen.add(ev.TriggerSource + ":" + ev.Request.UserAttributes["cognito:user_status"] + ":" + ev.Request.ClientMetadata["k"])
			return nil
		}),
	}
	e, _, c, codes := engineWithHookFuncs(t, funcs, nil, func(s *pool.Settings) { s.AutoConfirm = true })

	_, err := e.SignUp(ctx, auth.SignUpInput{ClientID: c.ID, Username: phone})
	if pool.KindOf(err) != pool.KindUserLambdaValidation || !strings.Contains(err.Error(), "PreSignUp failed with error Invitation required.") {
		t.Fatalf("SignUp without an invitation: %v", err)
	}

	// Invited, confirmed and verified by the hook.
	out, err := e.SignUp(ctx, auth.SignUpInput{ClientID: c.ID, Username: phone,
		ValidationData: map[string]string{"invite": "yes"}, ClientMetadata: map[string]string{"confirm": "yes"}})
	if err != nil {
		t.Fatal(err)
	}
	if !out.UserConfirmed || out.Delivery != nil || codes.get(phone) != "" {
		t.Fatalf("auto-confirmed sign-up: %+v, code %q", out, codes.get(phone))
	}

	// Invited, not confirmed by the hook although the pool auto-confirms:
	// a code goes out, and ConfirmSignUp runs PostConfirmation.
	const other = "+14155550123"
	out, err = e.SignUp(ctx, auth.SignUpInput{ClientID: c.ID, Username: other, ValidationData: map[string]string{"invite": "yes"}})
	if err != nil {
		t.Fatal(err)
	}
	if out.UserConfirmed || out.Delivery == nil {
		t.Fatalf("sign-up the hook did not confirm: %+v", out)
	}
	if _, err := e.ConfirmSignUp(ctx, auth.ConfirmSignUpInput{ClientID: c.ID, Username: other, ConfirmationCode: codes.get(other),
		ClientMetadata: map[string]string{"k": "v"}}); err != nil {
		t.Fatal(err)
	}
	want := []string{"PreSignUp_SignUp", "PreSignUp_SignUp", "PreSignUp_SignUp", "PostConfirmation_ConfirmSignUp:CONFIRMED:v"}
	if got := seen.list(); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("hook calls = %v, want %v", got, want)
	}
}

func TestPreTokenGenerationAsAGoFunction(t *testing.T) {
	ctx := context.Background()
	seen := &hookCallLog{}
	funcs := hook.Funcs{
		hook.PreTokenGeneration: hook.Typed(func(_ context.Context, ev *hook.PreTokenGenerationV2Event) error {
			seen.add(ev.TriggerSource + ":" + ev.Version)
			ev.Response.ClaimsAndScopeOverrideDetails = &hook.ClaimsAndScopeOverrideDetails{
				AccessTokenGeneration: &hook.AccessTokenGeneration{
					ClaimsToAddOrOverride: map[string]any{"tenant": "acme", "sub": "forged"},
					ScopesToAdd:           []string{"api/read"},
				},
			}
			return nil
		}),
	}
	e, p, c, codes := engineWithHookFuncs(t, funcs, map[string]string{hook.PreTokenGeneration: hook.LambdaV2}, nil)
	if _, err := e.SignUp(ctx, auth.SignUpInput{ClientID: c.ID, Username: phone}); err != nil {
		t.Fatal(err)
	}
	session := startSMS(t, e, c, phone)
	r, err := e.RespondToAuthChallenge(ctx, auth.RespondInput{ClientID: c.ID, ChallengeName: pool.ChallengeSMSOTP, Session: session,
		ChallengeResponses: map[string]string{"USERNAME": phone, "SMS_OTP_CODE": codes.get(phone)}})
	if err != nil || r.Tokens == nil {
		t.Fatalf("sign-in: %v", err)
	}
	iss, err := e.Issuer(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	claims, err := iss.Verify(r.Tokens.AccessToken, time.Now(), "access")
	if err != nil {
		t.Fatal(err)
	}
	if claims["tenant"] != "acme" || claims.String("scope") != "aws.cognito.signin.user.admin api/read" || claims.String("sub") == "forged" {
		t.Errorf("access token claims: %v", claims)
	}
	if got := seen.list(); len(got) != 1 || got[0] != "TokenGeneration_Authentication:2" {
		t.Errorf("hook calls = %v", got)
	}
}
