package deliver

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"
)

// fakeClock returns a clock that advances 1.5 ms per call.
func fakeClock() func() time.Time {
	var mu sync.Mutex
	t := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		t = t.Add(1500 * time.Microsecond)
		return t
	}
}

func send(t *testing.T, o *Outbox, to, code string) {
	t.Helper()
	if err := o.Send(context.Background(), Message{To: to, Channel: ChannelSMS, Code: code}); err != nil {
		t.Fatal(err)
	}
}

func codes(ms []OutboxMessage) []string {
	out := []string{}
	for _, m := range ms {
		out = append(out, m.Code)
	}
	return out
}

func TestOutboxOrderingAndFiltering(t *testing.T) {
	o := NewOutbox(10, fakeClock())
	send(t, o, "+15555550100", "1")
	send(t, o, "alice@example.com", "2")
	send(t, o, "+15555550100", "3")
	send(t, o, "+15555550101", "4")
	send(t, o, "+15555550100", "5")

	got := o.Messages("+15555550100")
	if fmt.Sprint(codes(got)) != "[5 3 1]" {
		t.Fatalf("codes = %v, want [5 3 1]", codes(got))
	}
	if !got[0].CreatedAt.After(got[1].CreatedAt) {
		t.Errorf("newest first: %v not after %v", got[0].CreatedAt, got[1].CreatedAt)
	}
	if got := o.Messages("ALICE@example.com"); len(got) != 0 {
		t.Errorf("match must be exact, got %v", codes(got))
	}
	if got := o.Messages("nobody"); got == nil || len(got) != 0 {
		t.Errorf("Messages(nobody) = %#v, want empty non-nil", got)
	}
}

func TestOutboxEviction(t *testing.T) {
	o := NewOutbox(3, fakeClock())
	for i := 1; i <= 7; i++ {
		send(t, o, "x", fmt.Sprint(i))
		want := []string{}
		for j := i; j >= 1 && j > i-3; j-- {
			want = append(want, fmt.Sprint(j))
		}
		if got := codes(o.Messages("x")); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("after %d sends: codes = %v, want %v", i, got, want)
		}
	}
}

func TestOutboxEvictionIsGlobal(t *testing.T) {
	o := NewOutbox(2, fakeClock())
	send(t, o, "a", "1")
	send(t, o, "b", "2")
	send(t, o, "b", "3")
	if got := o.Messages("a"); len(got) != 0 {
		t.Errorf("oldest message for a should be evicted, got %v", codes(got))
	}
}

func TestOutboxConcurrent(t *testing.T) {
	o := NewOutbox(50, nil)
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			to := fmt.Sprint("dest", g%2)
			for i := 0; i < 200; i++ {
				if err := o.Send(context.Background(), Message{To: to, Code: fmt.Sprint(i)}); err != nil {
					t.Error(err)
				}
				_ = o.Messages(to)
			}
		}()
	}
	wg.Wait()
	if n := len(o.Messages("dest0")) + len(o.Messages("dest1")); n != 50 {
		t.Errorf("kept %d messages, want 50", n)
	}
}

func TestNewOutboxBadCapacityPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("NewOutbox(0) did not panic")
		}
	}()
	NewOutbox(0, nil)
}

func TestOutboxMessageJSON(t *testing.T) {
	at := time.Date(2025, 1, 2, 3, 4, 5, 120_000_000, time.FixedZone("X", 3600))
	m := OutboxMessage{To: "+15555550100", Channel: ChannelSMS, PoolID: "local_X", Purpose: "sign_in", Body: "b", Code: "123456", CreatedAt: at}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"to":"+15555550100","channel":"sms","pool_id":"local_X","purpose":"sign_in","body":"b","code":"123456","created_at":"2025-01-02T02:04:05.120Z"}`
	if string(b) != want {
		t.Errorf("JSON =\n%s\nwant\n%s", b, want)
	}
	var back OutboxMessage
	if err := json.Unmarshal(b, &back); err != nil || !back.CreatedAt.Equal(at) || back.Code != m.Code {
		t.Errorf("round trip = %+v, %v", back, err)
	}
}
