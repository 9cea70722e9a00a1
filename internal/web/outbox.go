// Package web holds Latchkey's HTTP handlers.
package web

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/latchkey/latchkey/internal/deliver"
	"github.com/latchkey/latchkey/internal/phone"
)

// OutboxHandler serves GET /_dev/outbox?to=DEST with the dev outbox's
// messages for DEST, newest first: 200 {"messages":[...]}. DEST is an E.164
// number or an email address. It reveals codes, so mount it only when dev
// delivery is on. flush, if not nil, is called first to deliver messages
// still queued, so a code is there as soon as its request was answered.
func OutboxHandler(o *deliver.Outbox, flush func(context.Context) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			w.Header().Set("Allow", http.MethodGet)
			outboxJSON(w, http.StatusMethodNotAllowed, outboxError{"method_not_allowed", "use GET"})
			return
		}
		to := outboxDest(r.URL.Query().Get("to"))
		if to == "" {
			outboxJSON(w, http.StatusBadRequest, outboxError{"missing_parameter", `query parameter "to" is required`})
			return
		}
		if flush != nil {
			if err := flush(r.Context()); err != nil {
				outboxJSON(w, http.StatusServiceUnavailable, outboxError{"flush_failed", "queued messages could not be delivered: " + err.Error()})
				return
			}
		}
		outboxJSON(w, http.StatusOK, struct {
			Messages []deliver.OutboxMessage `json:"messages"`
		}{o.Messages(to)})
	})
}

type outboxError struct {
	Error   string `json:"error"`
	Message string `json:"message"`
}

// outboxDest turns the decoded query value into the form the outbox stores.
func outboxDest(to string) string {
	// A literal "+" in a query string decodes to a space, so an unencoded
	// "?to=+15555550100" arrives as " 15555550100".
	if len(to) > 1 && to[0] == ' ' && to[1] >= '0' && to[1] <= '9' {
		to = "+" + to[1:]
	}
	to = strings.TrimSpace(to)
	if strings.Contains(to, "@") {
		return strings.ToLower(to)
	}
	// Spellings like "+1 (555) 555-0100" find the stored E.164 form.
	if n, err := phone.Normalize(to, ""); err == nil {
		return n
	}
	return to
}

func outboxJSON(w http.ResponseWriter, status int, v any) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	// The status is sent; a failed write means the client went away.
	_ = json.NewEncoder(w).Encode(v)
}
