package server

import (
	"net/http/httptest"
	"net/netip"
	"testing"
)

func TestClientIP(t *testing.T) {
	proxies := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	tests := []struct {
		name    string
		remote  string
		xff     []string
		trusted []netip.Prefix
		want    string
	}{
		{"peer without proxies", "203.0.113.7:5000", nil, nil, "203.0.113.7"},
		{"header ignored without trusted proxies", "203.0.113.7:5000", []string{"198.51.100.1"}, nil, "203.0.113.7"},
		{"header ignored from an untrusted peer", "203.0.113.7:5000", []string{"198.51.100.1"}, proxies, "203.0.113.7"},
		{"client behind one proxy", "10.1.2.3:5000", []string{"198.51.100.1"}, proxies, "198.51.100.1"},
		{"spoofed left part skipped", "10.1.2.3:5000", []string{"1.2.3.4, 198.51.100.1"}, proxies, "198.51.100.1"},
		{"proxy chain", "10.1.2.3:5000", []string{"198.51.100.1, 10.9.9.9"}, proxies, "198.51.100.1"},
		{"several header lines", "10.1.2.3:5000", []string{"198.51.100.1", "10.9.9.9"}, proxies, "198.51.100.1"},
		{"garbage stops the walk", "10.1.2.3:5000", []string{"198.51.100.1, not-an-ip"}, proxies, "10.1.2.3"},
		{"all hops trusted", "10.1.2.3:5000", []string{"10.4.4.4"}, proxies, "10.4.4.4"},
		{"ipv6 peer", "[2001:db8::1]:443", nil, proxies, "2001:db8::1"},
		{"ipv4-mapped peer", "[::ffff:203.0.113.9]:443", nil, nil, "203.0.113.9"},
		{"ipv6 proxy", "[::1]:443", []string{"2001:db8::2"}, proxies, "2001:db8::2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/", nil)
			r.RemoteAddr = tt.remote
			for _, v := range tt.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if got := clientIP(r, tt.trusted); got != tt.want {
				t.Errorf("clientIP = %q, want %q", got, tt.want)
			}
		})
	}
}
