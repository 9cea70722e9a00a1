package server_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/cognito"
	"github.com/latchkey/latchkey/internal/server"
)

// realServer is Latchkey served by server.Serve (the production
// http.Server with its timeouts and header cap) on a loopback port, over
// the engine of a test env.
type realServer struct {
	env  *env
	addr string
	url  string
}

func startRealServer(t *testing.T, opts ...server.ServeOption) *realServer {
	t.Helper()
	e := newEnv(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewJSONHandler(e.logs, nil))
	h := server.NewHandler(server.Config{Engine: e.engine, Logger: log, Version: "test"})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- server.Serve(ctx, ln, h, log, opts...) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(20 * time.Second):
			t.Errorf("Serve did not return after shutdown")
		}
	})
	addr := ln.Addr().String()
	return &realServer{env: e, addr: addr, url: "http://" + addr}
}

// healthy checks that the server still answers.
func (s *realServer) healthy(t *testing.T) {
	t.Helper()
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get(s.url + "/healthz")
	if err != nil {
		t.Fatalf("server stopped serving: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("healthz: %d", resp.StatusCode)
	}
}

// wireError is a Cognito error as a client reads it.
type wireError struct {
	status        int
	typ, message  string
	headerType    string
	contentLength int
}

func (s *realServer) post(t *testing.T, op string, body io.Reader, header map[string]string) wireError {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.url+"/", body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "AWSCognitoIdentityProviderService."+op)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	c := &http.Client{Timeout: 30 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s: %v", op, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out struct {
		Type    string `json:"__type"`
		Message string `json:"message"`
	}
	if resp.StatusCode != http.StatusOK {
		if err := json.Unmarshal(b, &out); err != nil {
			t.Fatalf("%s: status %d, body %q is not a Cognito error", op, resp.StatusCode, b)
		}
	}
	return wireError{status: resp.StatusCode, typ: out.Type, message: out.Message, headerType: resp.Header.Get("X-Amzn-ErrorType"), contentLength: len(b)}
}

// closedWithin reads from conn until the server closes it (or sends a
// whole response and closes), and reports what it read and how long that
// took; it fails the test if the connection is still open at bound.
func closedWithin(t *testing.T, conn net.Conn, bound time.Duration) (string, time.Duration) {
	t.Helper()
	start := time.Now()
	conn.SetReadDeadline(start.Add(bound))
	b, err := io.ReadAll(conn)
	elapsed := time.Since(start)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("connection still open after %s (read %q)", bound, b)
	}
	return string(b), elapsed
}

// TestSlowHeadersAreCut is the slow-loris case: a client that sends its
// request line and headers one byte a second is disconnected once
// ReadHeaderTimeout has passed, however steadily it trickles.
func TestSlowHeadersAreCut(t *testing.T) {
	if testing.Short() {
		t.Skip("takes a few seconds")
	}
	s := startRealServer(t, server.WithLimits(server.Limits{ReadHeaderTimeout: time.Second}))
	conn, err := net.Dial("tcp", s.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	request := "POST / HTTP/1.1\r\nHost: " + s.addr + "\r\nX-Amz-Target: AWSCognitoIdentityProviderService.GetUser\r\nX-Padding: " + strings.Repeat("p", 200) + "\r\n\r\n"
	stop := make(chan struct{})
	defer close(stop)
	sent := make(chan int, 1)
	go func() {
		n := 0
		defer func() { sent <- n }()
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for i := 0; i < len(request); i++ {
			if _, err := conn.Write([]byte{request[i]}); err != nil {
				return
			}
			n++
			select {
			case <-tick.C:
			case <-stop:
				return
			}
		}
	}()
	// The whole request would take minutes at this rate; the server must
	// give up long before, near the one-second header timeout.
	got, elapsed := closedWithin(t, conn, 15*time.Second)
	if strings.HasPrefix(got, "HTTP/1.1 2") {
		t.Errorf("a trickled request was served: %q", got)
	}
	t.Logf("disconnected after %s having read %q", elapsed.Round(10*time.Millisecond), got)
	s.healthy(t)
}

// TestSlowBodyIsCut: headers arrive at once, the body one byte a second;
// ReadTimeout ends the request (a typed error or a closed connection),
// and the server keeps serving.
func TestSlowBodyIsCut(t *testing.T) {
	if testing.Short() {
		t.Skip("takes a few seconds")
	}
	s := startRealServer(t, server.WithLimits(server.Limits{ReadTimeout: time.Second, WriteTimeout: 5 * time.Second}))
	conn, err := net.Dial("tcp", s.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	body := `{"ClientId":"` + strings.Repeat("a", 100) + `"}`
	head := fmt.Sprintf("POST / HTTP/1.1\r\nHost: %s\r\nContent-Type: application/x-amz-json-1.1\r\nX-Amz-Target: AWSCognitoIdentityProviderService.GetUser\r\nContent-Length: %d\r\n\r\n", s.addr, len(body))
	if _, err := conn.Write([]byte(head)); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for i := 0; i < len(body); i++ {
			if _, err := conn.Write([]byte{body[i]}); err != nil {
				return
			}
			select {
			case <-tick.C:
			case <-stop:
				return
			}
		}
	}()
	got, elapsed := closedWithin(t, conn, 15*time.Second)
	if got != "" {
		resp, err := http.ReadResponse(bufio.NewReader(strings.NewReader(got)), nil)
		if err != nil {
			t.Fatalf("unreadable response %q: %v", got, err)
		}
		if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("X-Amzn-ErrorType") != "SerializationException:" {
			t.Errorf("slow body answered %q", got)
		}
	}
	t.Logf("slow body ended after %s", elapsed.Round(10*time.Millisecond))
	s.healthy(t)
}

// TestIdleConnectionsAreClosed: a keep-alive connection that sends nothing
// after its first request is closed after IdleTimeout.
func TestIdleConnectionsAreClosed(t *testing.T) {
	if testing.Short() {
		t.Skip("takes a few seconds")
	}
	s := startRealServer(t, server.WithLimits(server.Limits{IdleTimeout: time.Second}))
	conn, err := net.Dial("tcp", s.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := fmt.Fprintf(conn, "GET /healthz HTTP/1.1\r\nHost: %s\r\n\r\n", s.addr); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Close {
		t.Fatalf("first request: %d, close %v", resp.StatusCode, resp.Close)
	}
	conn.SetReadDeadline(time.Now().Add(15 * time.Second))
	if _, err := br.ReadByte(); err == nil {
		t.Fatal("server sent data on an idle connection")
	} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatal("idle connection still open after 15s")
	}
}

// TestDefaultLimits pins the production limits: every timeout is set (a
// zero would mean none) and bounded, and the header cap is modest.
func TestDefaultLimits(t *testing.T) {
	l := server.DefaultLimits()
	for name, d := range map[string]time.Duration{
		"ReadHeaderTimeout": l.ReadHeaderTimeout, "ReadTimeout": l.ReadTimeout,
		"WriteTimeout": l.WriteTimeout, "IdleTimeout": l.IdleTimeout,
	} {
		if d <= 0 || d > 2*time.Minute+1 {
			t.Errorf("%s = %s, want between 0 and 2m", name, d)
		}
	}
	if l.ReadHeaderTimeout > 10*time.Second {
		t.Errorf("ReadHeaderTimeout = %s: a slow-loris client may hold a connection that long per header", l.ReadHeaderTimeout)
	}
	if l.MaxHeaderBytes <= 0 || l.MaxHeaderBytes > 1<<20 {
		t.Errorf("MaxHeaderBytes = %d", l.MaxHeaderBytes)
	}
	// Zero fields of WithLimits keep the defaults rather than disabling.
	s := startRealServer(t, server.WithLimits(server.Limits{}))
	s.healthy(t)
}

// TestOversizedBody: a body one byte over cognito.MaxBodyBytes gets a 400
// SerializationException saying so, with or without a Content-Length.
func TestOversizedBody(t *testing.T) {
	s := startRealServer(t)
	over := `{"ClientId":"` + strings.Repeat("a", cognito.MaxBodyBytes) + `"}`
	for _, tc := range []struct {
		name string
		body io.Reader
	}{
		{"content-length", strings.NewReader(over)},
		// A plain io.Reader makes the client send it chunked, with no length.
		{"chunked", io.MultiReader(strings.NewReader(over))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := s.post(t, "SignUp", tc.body, nil)
			if got.status != http.StatusBadRequest || got.typ != "SerializationException" || got.headerType != "SerializationException:" {
				t.Fatalf("got %+v", got)
			}
			if want := fmt.Sprintf("larger than %d bytes", cognito.MaxBodyBytes); !strings.Contains(got.message, want) {
				t.Errorf("message %q does not say %q", got.message, want)
			}
		})
	}
	// Exactly at the cap the body is read and judged on its content.
	atCap := `{"ClientId":"c"}` + strings.Repeat(" ", cognito.MaxBodyBytes-len(`{"ClientId":"c"}`))
	if got := s.post(t, "SignUp", strings.NewReader(atCap), nil); got.typ != "InvalidParameterException" || !strings.Contains(got.message, "'username'") {
		t.Errorf("body at the cap: %+v", got)
	}
	s.healthy(t)
}

// TestOversizedHeaders: headers past MaxHeaderBytes are refused by the
// HTTP server with 431 before any handler runs.
func TestOversizedHeaders(t *testing.T) {
	s := startRealServer(t)
	limit := server.DefaultLimits().MaxHeaderBytes
	for _, tc := range []struct {
		name   string
		header map[string]string
	}{
		{"one huge header", map[string]string{"X-Padding": strings.Repeat("p", 2*limit)}},
		{"many headers", func() map[string]string {
			h := map[string]string{}
			for i := range 2 * limit / 1024 {
				h[fmt.Sprintf("X-Pad-%d", i)] = strings.Repeat("p", 1024)
			}
			return h
		}()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodPost, s.url+"/", strings.NewReader(`{}`))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("X-Amz-Target", "AWSCognitoIdentityProviderService.GetUser")
			for k, v := range tc.header {
				req.Header.Set(k, v)
			}
			resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
			if err != nil {
				// The server may close before the client has written
				// everything; that is a refusal too.
				t.Logf("refused at the transport: %v", err)
				return
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
				t.Fatalf("status %d, want 431", resp.StatusCode)
			}
		})
	}
	// Headers just under the cap are fine.
	got := s.post(t, "GetUser", strings.NewReader(`{}`), map[string]string{"X-Padding": strings.Repeat("p", limit/2)})
	if got.typ != "InvalidParameterException" {
		t.Errorf("request with headers under the cap: %+v", got)
	}
	s.healthy(t)
}

// TestHostileJSON: nesting past the depth cap, huge strings, maps and
// lists each get a typed 400 with a short message naming the problem.
func TestHostileJSON(t *testing.T) {
	s := startRealServer(t)
	cid := s.env.client.ID
	nest := func(depth int) string {
		return strings.Repeat(`{"a":`, depth-1) + `{}` + strings.Repeat(`}`, depth-1)
	}
	manyEntries := func(n int) string {
		parts := make([]string, n)
		for i := range parts {
			parts[i] = fmt.Sprintf(`"k%d":"v"`, i)
		}
		return "{" + strings.Join(parts, ",") + "}"
	}
	big := strings.Repeat("x", 200<<10)
	tests := []struct {
		name, op, body string
		wantType, want string
	}{
		{"nested objects past the cap", "SignUp", `{"ClientMetadata":` + nest(16) + `}`, "SerializationException", "nests deeper than 16 levels"},
		{"nested arrays in an unknown member", "InitiateAuth", `{"Future":` + strings.Repeat("[", 10000) + strings.Repeat("]", 10000) + `}`, "SerializationException", "nests deeper than 16 levels"},
		{"unbalanced nesting", "InitiateAuth", `{"Future":` + strings.Repeat("[", 100000), "SerializationException", "nests deeper than 16 levels"},
		// Depth 16 in all (the request object and 15 below) passes the
		// depth check and is judged on its members.
		{"nesting at the cap", "InitiateAuth", `{"Future":` + nest(15) + `}`, "InvalidParameterException", "'clientId'"},
		{"huge username", "SignUp", `{"ClientId":"` + cid + `","Username":"` + big + `"}`, "InvalidParameterException", "Member must have length less than or equal to 128"},
		{"huge session", "RespondToAuthChallenge", `{"ClientId":"` + cid + `","ChallengeName":"SMS_OTP","Session":"` + big + `"}`, "InvalidParameterException", "Value at 'session' failed to satisfy constraint: Member must have length less than or equal to 2048"},
		{"huge access token", "GetUser", `{"AccessToken":"` + big + `"}`, "InvalidParameterException", "Member must have length less than or equal to 16384"},
		{"huge map", "InitiateAuth", `{"ClientId":"` + cid + `","AuthFlow":"USER_AUTH","AuthParameters":` + manyEntries(10000) + `}`, "InvalidParameterException", "Member must have at most 64 entries"},
		{"huge attribute list", "SignUp", `{"ClientId":"` + cid + `","Username":"+14155550100","UserAttributes":[` + strings.TrimSuffix(strings.Repeat(`{"Name":"n","Value":"v"},`, 10000), ",") + `]}`, "InvalidParameterException", "Member must have at most 100 entries"},
		{"huge unknown member", "InitiateAuth", `{"Future":"` + big + `"}`, "InvalidParameterException", "'clientId'"},
		{"many escapes", "SignUp", `{"ClientId":"` + cid + `","Username":"` + strings.Repeat(`\u00e9`, 30000) + `"}`, "InvalidParameterException", "Member must have length less than or equal to 128"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if len(tc.body) > cognito.MaxBodyBytes {
				t.Fatalf("test body of %d bytes is over the body cap", len(tc.body))
			}
			got := s.post(t, tc.op, strings.NewReader(tc.body), nil)
			if got.status != http.StatusBadRequest || got.typ != tc.wantType || got.headerType != tc.wantType+":" {
				t.Fatalf("got %d %s %q, want 400 %s", got.status, got.typ, got.message, tc.wantType)
			}
			if !strings.Contains(got.message, tc.want) {
				t.Errorf("message %q does not contain %q", got.message, tc.want)
			}
			if got.contentLength > 4096 {
				t.Errorf("error body is %d bytes", got.contentLength)
			}
		})
	}
	s.healthy(t)
}
