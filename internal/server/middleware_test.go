package server

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestCORSOrigins(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })
	tests := []struct {
		name       string
		origins    []string
		origin     string
		preflight  bool
		wantStatus int
		wantAllow  string
	}{
		{"any origin, request", []string{"*"}, "https://app.example", false, 200, "*"},
		{"any origin, preflight", []string{"*"}, "https://app.example", true, 204, "*"},
		{"listed origin", []string{"https://app.example"}, "https://app.example", true, 204, "https://app.example"},
		{"unlisted origin preflight gets no grant", []string{"https://app.example"}, "https://evil.example", true, 204, ""},
		{"unlisted origin request gets no grant", []string{"https://app.example"}, "https://evil.example", false, 200, ""},
		{"no origin header", []string{"*"}, "", false, 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			method := http.MethodPost
			if tt.preflight {
				method = http.MethodOptions
			}
			req := httptest.NewRequest(method, "/", nil)
			if tt.origin != "" {
				req.Header.Set("Origin", tt.origin)
			}
			if tt.preflight {
				req.Header.Set("Access-Control-Request-Method", "POST")
			}
			rec := httptest.NewRecorder()
			cors(ok, tt.origins).ServeHTTP(rec, req)
			if rec.Code != tt.wantStatus {
				t.Errorf("status %d, want %d", rec.Code, tt.wantStatus)
			}
			if got := rec.Header().Get("Access-Control-Allow-Origin"); got != tt.wantAllow {
				t.Errorf("Allow-Origin %q, want %q", got, tt.wantAllow)
			}
			if tt.wantAllow != "" && tt.preflight && rec.Header().Get("Access-Control-Allow-Headers") == "" {
				t.Error("preflight grant without Allow-Headers")
			}
			if tt.wantAllow != "" && tt.wantAllow != "*" && rec.Header().Get("Vary") != "Origin" {
				t.Error("a per-origin grant must Vary on Origin")
			}
		})
	}
}

func TestRecoverPanicsKeepsServing(t *testing.T) {
	boom := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { panic("boom") })
	rec := httptest.NewRecorder()
	recoverPanics(boom, discardLogger()).ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/", nil))
	if rec.Code != http.StatusInternalServerError || rec.Header().Get("X-Amzn-ErrorType") != "InternalErrorException:" {
		t.Fatalf("panic gave %d %v", rec.Code, rec.Header())
	}
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// TestHealthProbesLogAtDebug: a load balancer's probes are logged at DEBUG,
// other requests at INFO.
func TestHealthProbesLogAtDebug(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
	for _, path := range []string{"/healthz", "/"} {
		buf.Reset()
		accessLog(ok, log).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, path, nil))
		var line struct {
			Level string `json:"level"`
			Path  string `json:"path"`
		}
		if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
			t.Fatalf("%s: %v in %q", path, err, buf.String())
		}
		want := "INFO"
		if path == "/healthz" {
			want = "DEBUG"
		}
		if line.Level != want || line.Path != path {
			t.Errorf("%s logged at %s (path %q), want %s", path, line.Level, line.Path, want)
		}
	}
}
