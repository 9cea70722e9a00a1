package hook_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/latchkey/latchkey/internal/hook"
	"github.com/latchkey/latchkey/internal/pool"
)

// The engine's side: build a pool's Router from its stored Config, send a
// PreSignUp event, read the answer.
func ExampleWebhooks() {
	secret, _ := hook.NewSecret(rand.Reader)

	// The pool owner's receiver (here on 127.0.0.1): reject domains, else
	// auto-confirm. It verifies the signature before anything else.
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := hook.Verify(secret, r.Header, body, time.Now(), 5*time.Minute); err != nil {
			http.Error(w, "forbidden", http.StatusForbidden)
			return
		}
		if strings.Contains(string(body), "@blocked.example") {
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, `{"errorMessage":"This domain cannot sign up"}`)
			return
		}
		io.WriteString(w, strings.Replace(string(body), `"autoConfirmUser":false`, `"autoConfirmUser":true`, 1))
	}))
	defer receiver.Close()

	webhooks := hook.NewWebhooks(hook.WebhookOptions{}) // one per process
	router, err := webhooks.Router(hook.Config{
		Triggers: map[string]hook.TriggerConfig{hook.PreSignUp: {URL: receiver.URL + "/presignup"}},
		Secret:   secret,
	})
	if err != nil {
		fmt.Println(err)
		return
	}

	for _, email := range []string{"ana@example.com", "eve@blocked.example"} {
		if !router.Configured(hook.PreSignUp) {
			return // the built-in default would run here
		}
		ev, _ := hook.PreSignUpEvent{
			Header: hook.Header{
				Version: "1", TriggerSource: hook.SourcePreSignUpSignUp,
				Region: "eu-west-1", UserPoolID: "eu-west-1_AbCdEfGhI", UserName: email,
				CallerContext: hook.CallerContext{AWSSDKVersion: "aws-sdk-unknown-unknown", ClientID: "abcdefghijklmnopqrstuvwxyz"},
			},
			Request: hook.PreSignUpRequest{UserAttributes: hook.StringMap{"email": email}},
		}.Encode()
		if err := router.Invoke(context.Background(), hook.PreSignUp, ev); err != nil {
			var pe *pool.Error
			if errors.As(err, &pe) {
				fmt.Println(pe.Kind == pool.KindUserLambdaValidation, pe.Message)
			}
			continue
		}
		resp, _ := hook.DecodePreSignUp(ev.Response)
		fmt.Println(email, "auto-confirmed:", resp.AutoConfirmUser)
	}
	// Output:
	// ana@example.com auto-confirmed: true
	// true PreSignUp failed with error This domain cannot sign up.
}

// A hook written in Go, for a program that embeds Latchkey.
func ExampleTyped() {
	funcs := hook.Funcs{
		hook.VerifyAuthChallengeResponse: hook.Typed(func(ctx context.Context, ev *hook.VerifyAuthChallengeResponseEvent) error {
			ev.Response.AnswerCorrect = ev.Request.ChallengeAnswer == ev.Request.PrivateChallengeParameters["answer"]
			return nil
		}),
	}
	ev, _ := hook.VerifyAuthChallengeResponseEvent{
		Header: hook.Header{Version: "1", TriggerSource: hook.SourceVerifyAuthChallengeResponse},
		Request: hook.VerifyAuthChallengeRequest{
			PrivateChallengeParameters: hook.StringMap{"answer": "424242"},
			ChallengeAnswer:            "424242",
		},
	}.Encode()
	if err := funcs.Invoke(context.Background(), hook.VerifyAuthChallengeResponse, ev); err != nil {
		fmt.Println(err)
		return
	}
	resp, _ := hook.DecodeVerifyAuthChallenge(ev.Response)
	fmt.Println("answer correct:", resp.AnswerCorrect)
	// Output: answer correct: true
}

// A receiver checks each request with Verify before reading it; here the
// Standard Webhooks test vector.
func ExampleVerify() {
	header := http.Header{}
	header.Set("webhook-id", "msg_p5jXN8AQM9LWM0D4loKWxJek")
	header.Set("webhook-timestamp", "1614265330")
	header.Set("webhook-signature", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
	body := []byte(`{"test": 2432232314}`)
	secret := "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

	fmt.Println(hook.Verify(secret, header, body, time.Unix(1614265330, 0), 5*time.Minute))
	fmt.Println(hook.Verify(secret, header, []byte(`{"test": 1}`), time.Unix(1614265330, 0), 5*time.Minute))
	fmt.Println(hook.Verify(secret, header, body, time.Unix(1614265330, 0).Add(time.Hour), 5*time.Minute))
	// Output:
	// <nil>
	// webhook-signature does not match
	// webhook-timestamp is too old
}
