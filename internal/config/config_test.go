package config

import (
	"flag"
	"io"
	"testing"
)

func TestServeFlagsPrecedence(t *testing.T) {
	tests := []struct {
		name      string
		args      []string
		env       map[string]string
		listen    string
		wantAddr  string
		wantURL   string
		wantDev   bool
		wantCORS  []string
		wantError bool
	}{
		{name: "defaults", listen: "127.0.0.1:8080", wantAddr: DefaultAddr, wantURL: "http://127.0.0.1:8080", wantDev: true, wantCORS: []string{"*"}},
		{name: "env sets", env: map[string]string{"LATCHKEY_ADDR": "127.0.0.1:9000", "LATCHKEY_DEV": "false", "LATCHKEY_PUBLIC_URL": "https://auth.example.com/"}, listen: "127.0.0.1:9000",
			wantAddr: "127.0.0.1:9000", wantURL: "https://auth.example.com", wantDev: false, wantCORS: []string{"*"}},
		{name: "flag beats env", args: []string{"--addr", "127.0.0.1:7000"}, env: map[string]string{"LATCHKEY_ADDR": "127.0.0.1:9000"}, listen: "127.0.0.1:7000",
			wantAddr: "127.0.0.1:7000", wantURL: "http://127.0.0.1:7000", wantDev: true, wantCORS: []string{"*"}},
		{name: "wildcard host becomes loopback in url", args: []string{"--addr", "0.0.0.0:8080"}, listen: "0.0.0.0:8080", wantAddr: "0.0.0.0:8080", wantURL: "http://127.0.0.1:8080", wantDev: true, wantCORS: []string{"*"}},
		{name: "cors list", args: []string{"--cors-origins", "https://a.example, https://b.example"}, listen: "127.0.0.1:8080",
			wantAddr: DefaultAddr, wantURL: "http://127.0.0.1:8080", wantDev: true, wantCORS: []string{"https://a.example", "https://b.example"}},
		{name: "bad env bool", env: map[string]string{"LATCHKEY_DEV": "maybe"}, wantError: true},
		{name: "bad public url", args: []string{"--public-url", "auth.example.com"}, listen: "127.0.0.1:8080", wantError: true},
		{name: "bad log level", args: []string{"--log-level", "loud"}, listen: "127.0.0.1:8080", wantError: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := flag.NewFlagSet("serve", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			s := ServeFlags(fs)
			err := Parse(fs, tt.args, func(k string) string { return tt.env[k] })
			if err == nil {
				err = s.Finish(tt.listen)
			}
			if (err != nil) != tt.wantError {
				t.Fatalf("error = %v, want error %v", err, tt.wantError)
			}
			if err != nil {
				return
			}
			if s.Addr != tt.wantAddr || s.PublicURL != tt.wantURL || s.Dev != tt.wantDev {
				t.Errorf("got addr %q url %q dev %v", s.Addr, s.PublicURL, s.Dev)
			}
			if len(s.CORSOrigins) != len(tt.wantCORS) {
				t.Fatalf("cors = %v, want %v", s.CORSOrigins, tt.wantCORS)
			}
			for i := range tt.wantCORS {
				if s.CORSOrigins[i] != tt.wantCORS[i] {
					t.Errorf("cors = %v, want %v", s.CORSOrigins, tt.wantCORS)
				}
			}
		})
	}
}

func TestEnvName(t *testing.T) {
	if got := EnvName("public-url"); got != "LATCHKEY_PUBLIC_URL" {
		t.Errorf("EnvName = %q", got)
	}
}
