package dispatch

import (
	"errors"
	mrand "math/rand/v2"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/latchkey/latchkey/internal/deliver"
)

func TestDefaultBackoff(t *testing.T) {
	d := &Dispatcher{rand: mrand.NewChaCha8([32]byte{3})}
	for attempt := -1; attempt <= 100; attempt++ {
		want := 30 * time.Second
		if attempt <= 1 {
			want = time.Second
		} else if attempt < 6 {
			want = time.Second << (attempt - 1)
		}
		if got := d.defaultBackoff(attempt); got > want || got < want*3/4 {
			t.Errorf("defaultBackoff(%d) = %v, want in [%v, %v]", attempt, got, want*3/4, want)
		}
	}
	// Without randomness it still backs off, just without jitter.
	d.rand = iotest.ErrReader(errors.New("no entropy"))
	if got := d.defaultBackoff(3); got != 4*time.Second {
		t.Errorf("defaultBackoff(3) without jitter = %v, want 4s", got)
	}
}

func TestRedact(t *testing.T) {
	m := deliver.Message{Channel: deliver.ChannelSMS, To: "+15555550100", Code: "424242", Body: "424242 is your code"}
	got := redact("rejected "+m.Body+" for "+m.To+" ("+m.Code+")"+strings.Repeat("é", 400), m)
	if strings.Contains(got, m.Code) || strings.Contains(got, m.To) {
		t.Errorf("redact left a secret: %q", got)
	}
	if !strings.HasPrefix(got, "rejected [redacted] for +*******0100 ([redacted])") {
		t.Errorf("redact = %q", got)
	}
	if len(got) > maxErrorText+len("…") || !strings.HasSuffix(got, "é…") {
		t.Errorf("redact did not cut %d bytes cleanly: ...%q", len(got), got[len(got)-10:])
	}
}
