package server

import (
	"log/slog"
	"net/http"
	"runtime/debug"
	"slices"
	"strings"
	"time"
)

// withRequestID gives every response an x-amzn-RequestId, which AWS SDKs
// surface as the request ID.
func withRequestID(next http.Handler, newID func() string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Amzn-RequestId", newID())
		next.ServeHTTP(w, r)
	})
}

// statusRecorder remembers the status a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// accessLog writes one line per request. It logs the path but never the
// query string or body, which may carry identifiers or secrets.
func accessLog(next http.Handler, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		attrs := []any{
			"method", r.Method,
			"path", r.URL.Path,
			"status", rec.status,
			"duration_ms", float64(time.Since(start).Microseconds()) / 1000,
			"request_id", w.Header().Get("X-Amzn-RequestId"),
		}
		if op := r.Header.Get("X-Amz-Target"); op != "" {
			attrs = append(attrs, "op", strings.TrimPrefix(op, "AWSCognitoIdentityProviderService."))
		}
		level := slog.LevelInfo
		if r.URL.Path == "/healthz" {
			// A load balancer probes every few seconds: at INFO its lines
			// would bury the requests that matter.
			level = slog.LevelDebug
		}
		log.Log(r.Context(), level, "request", attrs...)
	})
}

// recoverPanics turns a panic into a 500 in Cognito's error shape and keeps
// the server serving.
func recoverPanics(next http.Handler, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				log.ErrorContext(r.Context(), "panic", "value", v, "stack", string(debug.Stack()))
				w.Header().Set("Content-Type", "application/x-amz-json-1.1")
				w.Header().Set("X-Amzn-ErrorType", "InternalErrorException:")
				w.WriteHeader(http.StatusInternalServerError)
				w.Write([]byte(`{"__type":"InternalErrorException","message":"An internal error occurred; try again."}`))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// corsAllowedHeaders are the request headers Amplify and the AWS SDKs for
// JavaScript send from browsers.
var corsAllowedHeaders = []string{
	"content-type", "x-amz-target", "x-amz-user-agent", "amz-sdk-invocation-id",
	"amz-sdk-request", "cache-control", "authorization", "x-amz-date",
	"x-amz-security-token", "x-amz-content-sha256",
}

var corsExposedHeaders = []string{"x-amzn-requestid", "x-amzn-errortype", "x-amzn-errormessage"}

// cors answers preflight requests and marks responses for allowed origins.
// The API uses no cookies, so credentials are never allowed.
func cors(next http.Handler, origins []string) http.Handler {
	anyOrigin := slices.Contains(origins, "*")
	allowed := func(origin string) bool {
		return origin != "" && (anyOrigin || slices.Contains(origins, origin))
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if allowed(origin) {
			h := w.Header()
			if anyOrigin {
				h.Set("Access-Control-Allow-Origin", "*")
			} else {
				h.Set("Access-Control-Allow-Origin", origin)
				h.Add("Vary", "Origin")
			}
			h.Set("Access-Control-Expose-Headers", strings.Join(corsExposedHeaders, ", "))
		}
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			if allowed(origin) {
				h := w.Header()
				h.Set("Access-Control-Allow-Methods", "POST, GET, OPTIONS")
				h.Set("Access-Control-Allow-Headers", strings.Join(corsAllowedHeaders, ", "))
				h.Set("Access-Control-Max-Age", "600")
			}
			w.WriteHeader(http.StatusNoContent)
			return
		}
		next.ServeHTTP(w, r)
	})
}
