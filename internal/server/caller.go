package server

import (
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/latchkey/latchkey/internal/auth"
)

// withCaller tells the engine who is calling: the peer's address, or, when
// the peer is a trusted proxy, the nearest address in X-Forwarded-For that
// is not itself a trusted proxy. Without trusted proxies the header is
// ignored, so a client cannot choose the address its limits count against.
func withCaller(next http.Handler, trusted []netip.Prefix) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := auth.Caller{IP: clientIP(r, trusted), UserAgent: r.UserAgent()}
		next.ServeHTTP(w, r.WithContext(auth.WithCaller(r.Context(), c)))
	})
}

func clientIP(r *http.Request, trusted []netip.Prefix) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	peer = peer.Unmap()
	if !isTrusted(peer, trusted) {
		return peer.String()
	}
	// Walk X-Forwarded-For from the right: each hop was appended by the
	// proxy in front of it, so the first untrusted one is the client.
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break
		}
		a = a.Unmap()
		if !isTrusted(a, trusted) {
			return a.String()
		}
		peer = a
	}
	return peer.String()
}

func isTrusted(a netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
