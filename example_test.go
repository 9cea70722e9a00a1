package latchkey_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"

	"github.com/latchkey/latchkey"
)

// Latchkey runs inside a Go program with a PreSignUp hook written in Go:
// it refuses sign-ups from one domain and confirms everyone else at once.
// A Cognito client then signs up over the Cognito API as it would against
// Amazon Cognito; the hook's error reaches it as Cognito reports a Lambda
// trigger's.
func Example() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "latchkey-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	// The listener comes first: its address is the public URL, the
	// issuer of the tokens.
	ts := httptest.NewUnstartedServer(nil)
	srv, err := latchkey.New(ctx, latchkey.Config{
		DataDir:   dir,
		PublicURL: "http://" + ts.Listener.Addr().String(),
		Hooks: latchkey.Hooks{
			PreSignUp: func(ctx context.Context, ev *latchkey.PreSignUpEvent) error {
				if strings.HasSuffix(ev.Request.UserAttributes["email"], "@blocked.example") {
					return errors.New("Sign-ups from blocked.example are closed")
				}
				ev.Response.AutoConfirmUser = true
				return nil
			},
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	ts.Config.Handler = srv.Handler()
	ts.Start()
	defer ts.Close()

	// A pool and an app client, as `latchkey serve` makes on first start.
	_, client, _, err := srv.Bootstrap(ctx)
	if err != nil {
		log.Fatal(err)
	}

	for _, email := range []string{"ada@example.com", "eve@blocked.example"} {
		var out struct{ UserConfirmed bool }
		err := cognito(ts.URL, "SignUp", map[string]any{
			"ClientId": client.ID,
			"Username": email,
			"UserAttributes": []map[string]string{
				{"Name": "email", "Value": email},
			},
		}, &out)
		if err != nil {
			fmt.Printf("%s: %v\n", email, err)
			continue
		}
		fmt.Printf("%s: signed up, confirmed: %t\n", email, out.UserConfirmed)
	}
	// Output:
	// ada@example.com: signed up, confirmed: true
	// eve@blocked.example: UserLambdaValidationException: PreSignUp failed with error Sign-ups from blocked.example are closed.
}

// cognito calls an operation of the Cognito user-pools API (AWS JSON 1.1),
// as the AWS SDKs do, and decodes the answer into out, or returns the
// error as "<__type>: <message>".
func cognito(endpoint, op string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	req, err := http.NewRequest(http.MethodPost, endpoint+"/", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "AWSCognitoIdentityProviderService."+op)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Type    string `json:"__type"`
			Message string `json:"message"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&e); err != nil {
			return fmt.Errorf("%s: HTTP %s", op, resp.Status)
		}
		return fmt.Errorf("%s: %s", e.Type, e.Message)
	}
	return json.NewDecoder(resp.Body).Decode(out)
}
