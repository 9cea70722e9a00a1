package dispatch_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/deliver"
	"github.com/latchkey/latchkey/internal/deliver/dispatch"
	"github.com/latchkey/latchkey/internal/store"
)

// TestLogsHoldNoSecrets drives every path that logs (sent, deferred,
// expired, permanent failure, a provider echoing the message, a message
// that cannot be opened, a decoy) and checks that no code, body, address
// or sealed bytes reach the log, the stored error or OnFailure.
func TestLogsHoldNoSecrets(t *testing.T) {
	eachStore(t, func(t *testing.T, open func() store.Store) {
		const (
			okTo        = "+15555550101"
			permanentTo = "+15555550102"
			transientTo = "+15555550103"
			echoTo      = "+15555550104"
			corruptTo   = "+15555550105"
			decoyTo     = "+15555550106"
		)
		msgs := map[string]deliver.Message{}
		for i, to := range []string{okTo, permanentTo, transientTo, echoTo, corruptTo, decoyTo} {
			code := strings.Repeat(string(rune('1'+i)), 6) + "97"
			m := sms(to, code)
			m.Channel = deliver.ChannelEmail // exercise every field
			m.To = "user" + to[len(to)-2:] + "@example.com"
			m.Subject = "Your sign-in code"
			m.HTML = "<p><b>" + code + "</b> is your code.</p>"
			msgs[to] = m
		}
		byAddr := map[string]string{}
		for to, m := range msgs {
			byAddr[m.To] = to
		}

		var buf bytes.Buffer
		logger := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
		clk := newClock()
		// The corrupt message is told apart by its purpose.
		st := &spy{Store: open(), mutate: func(m *store.OutboxMessage) {
			if m.Purpose == "corrupt" {
				m.Sealed = bytes.Clone(m.Sealed)
				m.Sealed[len(m.Sealed)-1] ^= 1
			}
		}}
		sender := deliver.SenderFunc(func(_ context.Context, m deliver.Message) error {
			switch byAddr[m.To] {
			case permanentTo:
				return permanent("recipient rejected")
			case transientTo:
				return transient("rate exceeded")
			case echoTo:
				// A careless provider quoting the request back.
				return permanent("bad request: To=" + m.To + " Body=" + m.Body + " Html=" + m.HTML + " code " + m.Code)
			}
			return nil
		})
		fails := &failures{}
		d := newDispatcher(t, dispatch.Config{Store: st, Sender: sender, Now: clk.Now, Rand: seeded(7), Logger: logger, OnFailure: fails.hook})
		expires := t0.Add(20 * time.Second)
		for _, to := range slices.Sorted(maps.Keys(msgs)) {
			m := msgs[to]
			if to == corruptTo {
				m.Purpose = "corrupt"
			}
			enqueue(t, d, m, to == decoyTo, expires)
		}
		for clk.Now().Before(expires) {
			drain(t, d)
			clk.Advance(time.Second)
		}
		if s := d.Stats(); s != (dispatch.Stats{Enqueued: 6, Sent: 1, Retried: s.Retried, Failed: 4, Decoys: 1}) || s.Retried == 0 {
			t.Fatalf("Stats = %+v, want every path taken", s)
		}

		out := buf.String()
		t.Log(out)
		var secrets []string
		for _, m := range msgs {
			secrets = append(secrets, m.Code, m.Body, m.HTML, m.To)
		}
		for _, c := range st.claims() {
			secrets = append(secrets, string(c.Sealed), hex.EncodeToString(c.Sealed),
				base64.StdEncoding.EncodeToString(c.Sealed), base64.RawStdEncoding.EncodeToString(c.Sealed))
			for _, s := range secrets {
				if strings.Contains(c.LastError, s) {
					t.Errorf("stored LastError %q holds a secret", c.LastError)
				}
			}
		}
		var hooked []string
		for _, f := range fails.get() {
			hooked = append(hooked, f.err.Error(), f.msg.LastError)
		}
		for _, s := range secrets {
			if strings.Contains(out, s) {
				t.Errorf("the log holds %q", s)
			}
			for _, h := range hooked {
				if strings.Contains(h, s) {
					t.Errorf("OnFailure got %q, which holds %q", h, s)
				}
			}
		}
		if !strings.Contains(out, "recipient rejected") || !strings.Contains(out, "[redacted]") {
			t.Error("the log does not say why messages failed")
		}

		// Messages are logged through deliver.Message's LogValue, whose
		// group has exactly these keys (the struct itself has more).
		levels := map[string]int{}
		for line := range strings.Lines(out) {
			var rec map[string]any
			if err := json.Unmarshal([]byte(line), &rec); err != nil {
				t.Fatalf("log line %q: %v", line, err)
			}
			levels[rec["level"].(string)]++
			m, ok := rec["message"].(map[string]any)
			if !ok {
				t.Errorf("log line without a message group: %s", line)
				continue
			}
			if keys := slices.Sorted(maps.Keys(m)); !slices.Equal(keys, []string{"channel", "pool", "purpose", "to"}) {
				t.Errorf("message logged with keys %v, not through its LogValue", keys)
			}
		}
		if levels["ERROR"] != 4 || levels["WARN"] == 0 || levels["DEBUG"] != 1 {
			t.Errorf("log levels %v, want 4 ERROR (one per dropped message), some WARN, 1 DEBUG", levels)
		}
		if f := fails.get(); len(f) != 4 {
			t.Errorf("OnFailure called %d times, want 4", len(f))
		} else if !slices.ContainsFunc(f, func(f failure) bool { return errors.Is(f.err, dispatch.ErrCannotOpen) }) {
			t.Error("OnFailure did not get the message that cannot be opened")
		}
	})
}
