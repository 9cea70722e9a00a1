package auth_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/auth"
	"github.com/latchkey/latchkey/internal/deliver"
	"github.com/latchkey/latchkey/internal/pool"
)

// sentSMS counts the SMS that really left, by calling code.
type sentSMS struct {
	mu     sync.Mutex
	byCode map[string]int
	total  int
	toUser int
	codes  *lastCodes
}

func (s *sentSMS) Send(ctx context.Context, m deliver.Message) error {
	s.mu.Lock()
	if m.Channel == deliver.ChannelSMS {
		if m.To == phone {
			s.toUser++
		} else {
			s.total++
			s.byCode[m.To[:3]]++
		}
	}
	s.mu.Unlock()
	return s.codes.Send(ctx, m)
}

// TestSMSPumping runs an SMS-pumping attack for a simulated half day: four
// times a minute, from a rotating set of 500 addresses, it signs up a
// random number (half in the allowed country, the rest spread over eleven
// others) and asks for a sign-in code. The SMS actually sent must stay
// within the pool's budget for new numbers and go only to the allowed
// country, while a real user with a verified number, signing in every
// three hours from home, is always served.
func TestSMSPumping(t *testing.T) {
	ctx := context.Background()
	st := openSimulationStore(t)
	t.Cleanup(func() { st.Close() })
	clock := newSimClock()
	sent := &sentSMS{byCode: map[string]int{}, codes: &lastCodes{codes: map[string]string{}}}
	e, err := auth.New(auth.Config{Store: st, Sender: sent, PublicURL: "http://127.0.0.1:8080", Now: clock.Now, Rand: rand.NewChaCha8([32]byte{3})})
	if err != nil {
		t.Fatal(err)
	}
	limits := pool.DefaultLimits()
	settings := pool.DefaultSettings()
	settings.Limits = &limits // SMS to the US only: the pool has no default region
	p, err := e.CreatePool(ctx, "pumped", "local", settings)
	if err != nil {
		t.Fatal(err)
	}
	c, err := e.CreateClient(ctx, p.ID, auth.ClientOptions{Name: "app"})
	if err != nil {
		t.Fatal(err)
	}
	// The real user signs up and in once, which verifies their number.
	home := auth.WithCaller(ctx, auth.Caller{IP: "198.51.100.7"})
	if _, err := e.SignUp(home, auth.SignUpInput{ClientID: c.ID, Username: phone}); err != nil {
		t.Fatal(err)
	}
	userSignIn := func() error {
		r, err := e.InitiateAuth(home, auth.InitiateAuthInput{
			ClientID: c.ID, AuthFlow: pool.FlowUserAuth,
			AuthParameters: map[string]string{"USERNAME": phone, "PREFERRED_CHALLENGE": pool.ChallengeSMSOTP},
		})
		if err != nil {
			return err
		}
		_, err = e.RespondToAuthChallenge(home, auth.RespondInput{
			ClientID: c.ID, ChallengeName: pool.ChallengeSMSOTP, Session: r.Session,
			ChallengeResponses: map[string]string{"USERNAME": phone, "SMS_OTP_CODE": sent.codes.get(phone)},
		})
		return err
	}
	if err := userSignIn(); err != nil {
		t.Fatal(err)
	}

	// Premium-rate ranges pumpers like, and one allowed country.
	countries := []string{"+1", "+44", "+234", "+880", "+7", "+62", "+92", "+20", "+63", "+84", "+255", "+375"}
	attacker := rand.New(rand.NewPCG(5, 6))
	outcomes := map[string]int{}
	userRefused := 0
	const minutes, perMinute = 12 * 60, 4
	for step := 0; step < minutes*perMinute; step++ {
		minute := step / perMinute
		ip := fmt.Sprintf("203.0.%d.%d", step%500/250, step%250+1)
		actx := auth.WithCaller(ctx, auth.Caller{IP: ip})
		cc := "+1"
		if attacker.IntN(2) == 0 {
			cc = countries[1+attacker.IntN(len(countries)-1)]
		}
		number := cc + fmt.Sprintf("%d", 2000000000+attacker.IntN(7000000000))
		if cc == "+1" {
			number = fmt.Sprintf("+1415%07d", attacker.IntN(10_000_000))
		}
		_, err := e.SignUp(actx, auth.SignUpInput{ClientID: c.ID, Username: number})
		outcomes["sign-up "+kindName(err)]++
		_, err = e.InitiateAuth(actx, auth.InitiateAuthInput{
			ClientID: c.ID, AuthFlow: pool.FlowUserAuth,
			AuthParameters: map[string]string{"USERNAME": number, "PREFERRED_CHALLENGE": pool.ChallengeSMSOTP},
		})
		outcomes["sign-in "+kindName(err)]++
		if step%perMinute == 0 && minute%180 == 30 {
			if err := userSignIn(); err != nil {
				userRefused++
				t.Errorf("minute %d: the real user was refused: %v", minute, err)
			}
		}
		clock.Advance(time.Minute / perMinute)
	}
	span := minutes * time.Minute
	budget := limits.NewSMSDaily.Max(span)
	if hourly := limits.NewSMSHourly.Max(span); hourly < budget {
		budget = hourly
	}
	t.Logf("%d sign-ups and %d sign-ins by the attacker: %d SMS sent to its numbers (%v), budget for new numbers over the span %d; %d to the real user; outcomes %v",
		minutes*perMinute, minutes*perMinute, sent.total, sent.byCode, budget, sent.toUser, outcomes)
	if sent.total > budget {
		t.Errorf("%d SMS went to the attacker's numbers; the budget allows %d", sent.total, budget)
	}
	for code, n := range sent.byCode {
		if !strings.HasPrefix(code, "+1") {
			t.Errorf("%d SMS went to %s… numbers, outside the allowed country", n, code)
		}
	}
	if userRefused > 0 {
		t.Errorf("the real user was refused %d times", userRefused)
	}
}

// kindName names the Cognito exception an error becomes.
func kindName(err error) string {
	if err == nil {
		return "ok"
	}
	switch pool.KindOf(err) {
	case pool.KindInvalidParameter:
		return "InvalidParameter"
	case pool.KindLimitExceeded:
		return "LimitExceeded"
	case pool.KindTooManyRequests:
		return "TooManyRequests"
	case pool.KindUsernameExists:
		return "UsernameExists"
	case pool.KindInternal:
		return "Internal: " + err.Error()
	}
	return err.Error()
}
