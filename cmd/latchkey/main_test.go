package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestHelpAndVersion(t *testing.T) {
	tests := []struct {
		args     []string
		wantCode int
		wantOut  string
	}{
		{[]string{"--help"}, 0, "Commands:"},
		{[]string{"version"}, 0, "latchkey dev"},
		{[]string{"serve", "--help"}, 0, "LATCHKEY_<FLAG>"},
		{[]string{"serve", "--no-such-flag"}, 2, "flag provided but not defined"},
		{[]string{"pools", "--help"}, 0, "pools list"},
		{[]string{"pools", "list", "--help"}, 0, "-json"},
		{[]string{"bench", "--help"}, 0, "-client-id"},
		{[]string{"bench"}, 2, "--client-id is required"},
		{[]string{"frobnicate"}, 2, "unknown command"},
		{nil, 2, "Usage:"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tt.args, &stdout, &stderr, func(string) string { return "" })
			if code != tt.wantCode {
				t.Errorf("exit code %d, want %d", code, tt.wantCode)
			}
			if out := stdout.String() + stderr.String(); !strings.Contains(out, tt.wantOut) {
				t.Errorf("output %q does not contain %q", out, tt.wantOut)
			}
		})
	}
}

// TestServeBootstrapsAndListsPools starts the real serve command on an
// empty data directory, checks the first-start output, then lists pools.
func TestServeBootstrapsAndListsPools(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"LATCHKEY_DATA": dir, "LATCHKEY_ADDR": "127.0.0.1:0"}
	getenv := func(k string) string { return env[k] }
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr bytes.Buffer
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- serve(ctx, nil, &stdout, &stderr, getenv, ready) }()
	var url string
	select {
	case url = <-ready:
	case err := <-done:
		t.Fatalf("serve stopped: %v\n%s", err, stderr.String())
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not start")
	}
	resp, err := http.Get(url + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serve: %v", err)
	}
	out := stdout.String()
	for _, want := range []string{"Created user pool local_", "userPoolEndpoint: '" + url + "'", "Amplify.configure"} {
		if !strings.Contains(out, want) {
			t.Errorf("first-start output lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(stderr.String(), "dev delivery is on") {
		t.Error("no dev delivery warning at start-up")
	}

	var listed bytes.Buffer
	if code := run(context.Background(), []string{"pools", "list", "--data", dir, "--json"}, &listed, &stderr, func(string) string { return "" }); code != 0 {
		t.Fatalf("pools list exit %d: %s", code, stderr.String())
	}
	var pools []struct {
		ID      string `json:"id"`
		Name    string `json:"name"`
		Clients []struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"clients"`
	}
	if err := json.Unmarshal(listed.Bytes(), &pools); err != nil {
		t.Fatalf("pools list --json: %v\n%s", err, listed.String())
	}
	if len(pools) != 1 || len(pools[0].Clients) != 1 || len(pools[0].Clients[0].ID) != 26 || !strings.Contains(out, pools[0].ID) {
		t.Fatalf("pools = %+v", pools)
	}
	// A second start finds the pool and creates nothing.
	stdout.Reset()
	ctx2, cancel2 := context.WithCancel(context.Background())
	go func() { done <- serve(ctx2, nil, &stdout, &stderr, getenv, ready) }()
	<-ready
	cancel2()
	<-done
	if strings.Contains(stdout.String(), "Created user pool") {
		t.Error("second start created another pool")
	}
	var table bytes.Buffer
	run(context.Background(), []string{"pools", "list", "--data", dir}, &table, &stderr, func(string) string { return "" })
	if !strings.Contains(table.String(), "POOL ID") || !strings.Contains(table.String(), pools[0].ID) {
		t.Errorf("table output:\n%s", table.String())
	}
}

func TestPoolsCreate(t *testing.T) {
	dir := t.TempDir()
	noEnv := func(string) string { return "" }
	var out, errOut bytes.Buffer
	// A bad client flag is refused before anything is stored.
	if code := run(context.Background(), []string{"pools", "create", "--data", dir, "--name", "bad", "--access-token-ttl", "1s"}, &out, &errOut, noEnv); code != 1 {
		t.Fatalf("bad ttl: exit %d: %s", code, errOut.String())
	}
	if code := run(context.Background(), []string{"pools", "create", "--data", dir}, &out, &errOut, noEnv); code != 2 {
		t.Fatalf("missing --name: exit %d", code)
	}
	out.Reset()
	args := []string{"pools", "create", "--data", dir, "--name", "shop", "--auto-confirm=false", "--access-token-ttl", "10s", "--id-token-ttl", "10s", "--json"}
	if code := run(context.Background(), args, &out, &errOut, noEnv); code != 0 {
		t.Fatalf("pools create: exit %d: %s", code, errOut.String())
	}
	var created struct {
		ID      string `json:"id"`
		Name    string `json:"name"`
		Clients []struct{ ID, Name string }
	}
	if err := json.Unmarshal(out.Bytes(), &created); err != nil || created.Name != "shop" || len(created.Clients) != 1 {
		t.Fatalf("pools create --json = %q (%v)", out.String(), err)
	}
	out.Reset()
	run(context.Background(), []string{"pools", "list", "--data", dir, "--json"}, &out, &errOut, noEnv)
	if strings.Count(out.String(), `"name": "shop"`) != 1 || strings.Contains(out.String(), `"bad"`) {
		t.Fatalf("pools after create:\n%s", out.String())
	}
}
