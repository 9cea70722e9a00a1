package e2e_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/latchkey/latchkey/internal/store/postgres/pgtest"
)

// TestMultiNode runs three nodes over one PostgreSQL database, as a
// load-balanced deployment does, and checks that every step of a sign-in
// and every token works on any node.
func TestMultiNode(t *testing.T) {
	skipShort(t)
	storeURL := pgtest.URL(t)
	px := startProxy(t)
	iss := func(poolID string) string { return px.url + "/" + poolID }

	// Start the three nodes at the same moment on the empty database: they
	// race to migrate it and to create the first pool.
	nodes := make([]*node, 3)
	for i := range nodes {
		nodes[i] = launchNode(t, storeURL, px.url)
	}
	for _, n := range nodes {
		if err := n.waitReady(startTimeout); err != nil {
			t.Fatal(err)
		}
	}
	px.setBackends(t, nodes...)
	formCluster(nodes...)
	ctx := context.Background()

	var a app
	if !t.Run("first start creates one pool", func(t *testing.T) {
		a = onlyApp(t, storeURL)
		relaxSendLimits(t, storeURL, a.poolID)
		// The node that created the pool says so on stdout; the others
		// must not have created (and announced) a pool of their own.
		// stdout and stderr are separate pipes, so the announcement may
		// trail the "listening" line a little.
		want := fmt.Sprintf("Created user pool %s and app client %s.", a.poolID, a.clientID)
		var creators []string
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
			creators = creators[:0]
			for _, n := range nodes {
				if lines := linesWith(n.stdout.String(), "Created user pool"); len(lines) > 0 {
					creators = append(creators, n.name+": "+strings.Join(lines, " | "))
				}
			}
			if len(creators) > 0 || time.Now().After(deadline) {
				break
			}
		}
		if len(creators) != 1 || !strings.HasSuffix(creators[0], want) {
			t.Fatalf("nodes announcing a pool: %q, want exactly one saying %q", creators, want)
		}

		// Every node serves that pool: the same issuer, the same keys, and
		// its app client.
		firstKeys := ""
		for i, n := range nodes {
			var disc struct {
				Issuer  string `json:"issuer"`
				JWKSURI string `json:"jwks_uri"`
			}
			getJSON(t, n.url+"/"+a.poolID+"/.well-known/openid-configuration", &disc)
			if disc.Issuer != iss(a.poolID) {
				t.Errorf("%s: issuer %q, want %q (the shared public URL)", n.name, disc.Issuer, iss(a.poolID))
			}
			var kids []string
			for _, k := range jwks(t, n.url, a.poolID).Keys {
				kids = append(kids, k.KeyID)
			}
			slices.Sort(kids)
			if i == 0 {
				firstKeys = strings.Join(kids, ",")
			} else if got := strings.Join(kids, ","); got != firstKeys {
				t.Errorf("%s serves keys %s, %s serves %s", n.name, got, nodes[0].name, firstKeys)
			}
			if _, err := signUp(ctx, n.cog, a, fmt.Sprintf("+1415555010%d", i)); err != nil {
				t.Errorf("%s: %v", n.name, err)
			}
		}
	}) {
		t.FailNow()
	}

	t.Run("sign-in spread over three nodes", func(t *testing.T) {
		const user = "+14155550110"
		if _, err := signUp(ctx, nodes[0].cog, a, user); err != nil {
			t.Fatal(err)
		}
		session, err := initiate(ctx, nodes[0].cog, a, user)
		if err != nil {
			t.Fatal(err)
		}
		code := nodes[0].mustCode(t, user)

		_, err = respond(ctx, nodes[1].cog, a, user, session, wrongCode(code))
		wantAPIError(t, "a wrong code on "+nodes[1].name, err, "CodeMismatchException", "Invalid code or auth state for the user.")

		res, err := respond(ctx, nodes[2].cog, a, user, session, code)
		if err != nil {
			t.Fatalf("the right code on %s after a wrong one on %s: %v", nodes[2].name, nodes[1].name, err)
		}
		acc := verifyJWT(t, jwks(t, nodes[0].url, a.poolID), aws.ToString(res.AccessToken), iss(a.poolID))
		if acc["username"] != user {
			t.Errorf("access token username = %v, want %s", acc["username"], user)
		}

		// Single use across the cluster: no node accepts the session again.
		_, err = respond(ctx, nodes[0].cog, a, user, session, code)
		wantAPIError(t, "reusing the session on "+nodes[0].name, err, "NotAuthorizedException", "Invalid session for the user.")
	})

	t.Run("parallel wrong answers over three nodes", func(t *testing.T) {
		const user = "guesses@example.com"
		if _, err := signUp(ctx, nodes[0].cog, a, user); err != nil {
			t.Fatal(err)
		}
		session, err := initiate(ctx, nodes[0].cog, a, user)
		if err != nil {
			t.Fatal(err)
		}
		code := nodes[0].mustCode(t, user)

		// 50 wrong answers at once, round-robin over the nodes. The
		// attempt counter lives in the database, so however they
		// interleave only three are evaluated: two may say "try again",
		// the third ends the session.
		const guesses = 50
		type outcome struct{ typ, msg string }
		results := make([]outcome, guesses)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range guesses {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				_, err := respond(ctx, nodes[i%len(nodes)].cog, a, user, session, wrongCode(code))
				switch typ, msg := apiError(err); {
				case err == nil:
					results[i] = outcome{"tokens", ""}
				case typ == "":
					results[i] = outcome{"transport error", err.Error()}
				default:
					results[i] = outcome{typ, msg}
				}
			}()
		}
		close(start)
		wg.Wait()

		tally := map[outcome]int{}
		for _, r := range results {
			tally[r]++
		}
		mismatches := tally[outcome{"CodeMismatchException", "Invalid code or auth state for the user."}]
		ended := tally[outcome{"NotAuthorizedException", "Incorrect username or password."}]
		gone := tally[outcome{"NotAuthorizedException", "Invalid session for the user."}]
		t.Logf("30 parallel wrong answers: %d CodeMismatch, %d Incorrect username or password, %d Invalid session", mismatches, ended, gone)
		if mismatches > 2 || ended == 0 || mismatches+ended+gone != guesses {
			var lines []string
			for _, r := range slices.SortedFunc(maps.Keys(tally), func(x, y outcome) int { return strings.Compare(x.typ+x.msg, y.typ+y.msg) }) {
				lines = append(lines, fmt.Sprintf("%3d × %s %q", tally[r], r.typ, r.msg))
			}
			t.Fatalf("want at most 2 CodeMismatchException, at least one NotAuthorizedException \"Incorrect username or password.\" and only NotAuthorizedException otherwise; got:\n%s",
				strings.Join(lines, "\n"))
		}

		// The session is dead everywhere, even for the right code.
		for _, n := range nodes {
			_, err := respond(ctx, n.cog, a, user, session, code)
			wantAPIError(t, "the right code on "+n.name+" after the attempts ran out", err, "NotAuthorizedException", "")
		}
	})

	t.Run("parallel right answers over three nodes", func(t *testing.T) {
		const user = "+14155550111"
		if _, err := signUp(ctx, nodes[0].cog, a, user); err != nil {
			t.Fatal(err)
		}
		session, err := initiate(ctx, nodes[0].cog, a, user)
		if err != nil {
			t.Fatal(err)
		}
		code := nodes[0].mustCode(t, user)

		// The session is single use across the cluster: of right answers
		// sent at once to different nodes, exactly one gets tokens, even
		// when more arrive than the code allows attempts.
		const answers = 12
		errs := make([]error, answers)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range answers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				_, errs[i] = respond(ctx, nodes[i%len(nodes)].cog, a, user, session, code)
			}()
		}
		close(start)
		wg.Wait()
		won := 0
		for i, err := range errs {
			if err == nil {
				won++
				continue
			}
			// Losers either found the session used ("Invalid session") or
			// arrived after the attempts were spent ("Incorrect username or
			// password."); neither may be anything else.
			typ, msg := apiError(err)
			if typ != "NotAuthorizedException" || (msg != "Invalid session for the user." && msg != "Incorrect username or password.") {
				t.Errorf("right answer %d on %s: %v, want tokens or NotAuthorizedException", i, nodes[i%len(nodes)].name, err)
			}
		}
		if won != 1 {
			t.Errorf("%d of %d parallel right answers got tokens, want exactly 1", won, answers)
		}
	})

	// Tokens minted by node 1, shared by the last two subtests.
	const tokenUser = "tokens@example.com"
	var tokens *types.AuthenticationResultType

	t.Run("tokens from one node verify on the others", func(t *testing.T) {
		sub, err := signUp(ctx, nodes[0].cog, a, tokenUser)
		if err != nil {
			t.Fatal(err)
		}
		res, err := signIn(ctx, nodes[0], a, tokenUser)
		if err != nil {
			t.Fatal(err)
		}

		// Node 2's JWKS verifies both tokens, whose iss is the shared
		// public URL rather than node 1's own address.
		keys := jwks(t, nodes[1].url, a.poolID)
		idc := verifyJWT(t, keys, aws.ToString(res.IdToken), iss(a.poolID))
		acc := verifyJWT(t, keys, aws.ToString(res.AccessToken), iss(a.poolID))
		checks := []struct {
			token  string
			claims map[string]any
			name   string
			want   any
		}{
			{"ID", idc, "token_use", "id"},
			{"ID", idc, "aud", a.clientID},
			{"ID", idc, "cognito:username", tokenUser},
			{"ID", idc, "sub", sub},
			{"ID", idc, "email_verified", true},
			{"access", acc, "token_use", "access"},
			{"access", acc, "client_id", a.clientID},
			{"access", acc, "username", tokenUser},
			{"access", acc, "sub", sub},
		}
		for _, c := range checks {
			if c.claims[c.name] != c.want {
				t.Errorf("%s token claim %s = %v, want %v", c.token, c.name, c.claims[c.name], c.want)
			}
		}

		// A verifier that knows only the iss finds the keys through the
		// public URL (here the proxy, so whichever node it reaches).
		var disc struct {
			Issuer  string `json:"issuer"`
			JWKSURI string `json:"jwks_uri"`
		}
		getJSON(t, iss(a.poolID)+"/.well-known/openid-configuration", &disc)
		if disc.Issuer != iss(a.poolID) || disc.JWKSURI != iss(a.poolID)+"/.well-known/jwks.json" {
			t.Errorf("discovery through the public URL: issuer %q, jwks_uri %q", disc.Issuer, disc.JWKSURI)
		}

		out, err := nodes[2].cog.GetUser(ctx, &cip.GetUserInput{AccessToken: res.AccessToken})
		if err != nil {
			t.Fatalf("GetUser on %s with an access token from %s: %v", nodes[2].name, nodes[0].name, err)
		}
		if aws.ToString(out.Username) != tokenUser {
			t.Errorf("GetUser on %s: Username %q, want %q", nodes[2].name, aws.ToString(out.Username), tokenUser)
		}
		for _, at := range out.UserAttributes {
			if aws.ToString(at.Name) == "sub" && aws.ToString(at.Value) != sub {
				t.Errorf("GetUser on %s: sub %q, want %q", nodes[2].name, aws.ToString(at.Value), sub)
			}
		}
		tokens = res
	})

	t.Run("GlobalSignOut on one node holds on all", func(t *testing.T) {
		if tokens == nil {
			t.Skip("needs the tokens of the previous subtest")
		}
		// Before signing out, a refresh on node 2 works: what fails later
		// fails because of the sign-out. Its access token belongs to the
		// same family and must be revoked with it.
		ref, err := nodes[1].cog.GetTokensFromRefreshToken(ctx, &cip.GetTokensFromRefreshTokenInput{
			ClientId:     aws.String(a.clientID),
			RefreshToken: tokens.RefreshToken,
		})
		if err != nil {
			t.Fatalf("GetTokensFromRefreshToken on %s before the sign-out: %v", nodes[1].name, err)
		}
		refreshed := ref.AuthenticationResult.AccessToken
		// Warm every node: a node that cached a token check would be
		// caught by the checks after the sign-out.
		for _, n := range nodes {
			if _, err := n.cog.GetUser(ctx, &cip.GetUserInput{AccessToken: tokens.AccessToken}); err != nil {
				t.Fatalf("GetUser on %s before the sign-out: %v", n.name, err)
			}
		}

		if _, err := nodes[0].cog.GlobalSignOut(ctx, &cip.GlobalSignOutInput{AccessToken: tokens.AccessToken}); err != nil {
			t.Fatalf("GlobalSignOut on %s: %v", nodes[0].name, err)
		}

		for _, n := range nodes[1:] {
			for _, tc := range []struct {
				name  string
				token *string
			}{
				{"the signed-in access token", tokens.AccessToken},
				{"an access token refreshed before the sign-out", refreshed},
			} {
				_, err := n.cog.GetUser(ctx, &cip.GetUserInput{AccessToken: tc.token})
				wantAPIError(t, "GetUser on "+n.name+" with "+tc.name, err, "NotAuthorizedException", "Access Token has been revoked")
			}
		}
		for _, n := range nodes {
			_, err := n.cog.GetTokensFromRefreshToken(ctx, &cip.GetTokensFromRefreshTokenInput{
				ClientId:     aws.String(a.clientID),
				RefreshToken: tokens.RefreshToken,
			})
			wantAPIError(t, "GetTokensFromRefreshToken on "+n.name+" after the sign-out", err, "NotAuthorizedException", "Refresh Token has been revoked")
		}
	})

	t.Run("pools of each signing algorithm, made while the nodes run", func(t *testing.T) {
		for i, alg := range []string{"ES256", "EdDSA"} {
			p := createPool(t, storeURL, alg)
			user := fmt.Sprintf("+1415555020%d", i)
			if _, err := signUp(ctx, nodes[0].cog, p, user); err != nil {
				t.Fatal(err)
			}
			res, err := signIn(ctx, nodes[0], p, user)
			if err != nil {
				t.Fatal(err)
			}
			keys := jwks(t, nodes[1].url, p.poolID)
			if len(keys.Keys) != 1 || keys.Keys[0].Algorithm != alg {
				t.Fatalf("%s pool: %s serves keys %v", alg, nodes[1].name, keys.Keys)
			}
			verifyJWT(t, keys, aws.ToString(res.IdToken), iss(p.poolID))
			verifyJWT(t, keys, aws.ToString(res.AccessToken), iss(p.poolID))
			if _, err := nodes[2].cog.GetUser(ctx, &cip.GetUserInput{AccessToken: res.AccessToken}); err != nil {
				t.Errorf("%s pool: GetUser on %s with a token from %s: %v", alg, nodes[2].name, nodes[0].name, err)
			}
		}
	})

	t.Run("a changed signing algorithm reaches every node", func(t *testing.T) {
		p := createPool(t, storeURL, "RS256")
		const user = "+14155550299"
		if _, err := signUp(ctx, nodes[0].cog, p, user); err != nil {
			t.Fatal(err)
		}
		before, err := signIn(ctx, nodes[0], p, user)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range nodes { // every node caches the pool's one key
			if got := len(jwks(t, n.url, p.poolID).Keys); got != 1 {
				t.Fatalf("%s serves %d keys, want 1", n.name, got)
			}
		}
		cliCtx, cancel := context.WithTimeout(ctx, startTimeout)
		defer cancel()
		cmd := exec.CommandContext(cliCtx, latchkeyBin, "pools", "update", p.poolID, "--store", storeURL, "--signing-alg", "EdDSA")
		cmd.Env = cleanEnv()
		if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "(EdDSA) added") {
			t.Fatalf("latchkey pools update --signing-alg EdDSA: %v\n%s", err, out)
		}
		// No restart: each node rereads the pool's keys within seconds and
		// publishes the new key next to the old one, which still verifies.
		for _, n := range nodes {
			var algs []string
			for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
				algs = algs[:0]
				for _, k := range jwks(t, n.url, p.poolID).Keys {
					algs = append(algs, k.Algorithm)
				}
				if len(algs) == 2 {
					break
				}
			}
			if !slices.Equal(algs, []string{"EdDSA", "RS256"}) {
				t.Errorf("%s serves keys %v, want the new EdDSA key and the RS256 one", n.name, algs)
			}
			verifyJWT(t, jwks(t, n.url, p.poolID), aws.ToString(before.AccessToken), iss(p.poolID))
			if _, err := n.cog.GetUser(ctx, &cip.GetUserInput{AccessToken: before.AccessToken}); err != nil {
				t.Errorf("GetUser on %s with a token of the old key: %v", n.name, err)
			}
		}
	})
}

// createPool makes a pool with the given signing algorithm through the
// CLI against the cluster's store, with the send limits off.
func createPool(t *testing.T, storeURL, alg string) app {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, latchkeyBin, "pools", "create", "--store", storeURL, "--name", "alg-"+alg, "--signing-alg", alg, "--json")
	cmd.Env = cleanEnv()
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("latchkey pools create --signing-alg %s: %v", alg, err)
	}
	var created poolSummary
	if err := json.Unmarshal(out, &created); err != nil || len(created.Clients) != 1 {
		t.Fatalf("latchkey pools create --json: %v\n%s", err, out)
	}
	relaxSendLimits(t, storeURL, created.ID)
	return app{poolID: created.ID, clientID: created.Clients[0].ID}
}
