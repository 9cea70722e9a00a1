package deliver

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

var testMsg = Message{
	PoolID:  "local_abc123XYZ",
	Channel: ChannelSMS,
	To:      "+15555550100",
	Body:    "Your code is 123456",
	Code:    "123456",
	Purpose: "sign_in",
}

func TestUnavailable(t *testing.T) {
	err := Unavailable().Send(context.Background(), Message{PoolID: "local_X", Channel: ChannelSMS})
	if !errors.Is(err, ErrNoProvider) {
		t.Fatalf("error %v does not wrap ErrNoProvider", err)
	}
	want := "no sms provider is configured for pool local_X and dev delivery is off"
	if err.Error() != want {
		t.Errorf("error = %q, want %q", err, want)
	}
	err = Unavailable().Send(context.Background(), Message{PoolID: "local_Y", Channel: ChannelEmail})
	if !strings.Contains(err.Error(), "no email provider") {
		t.Errorf("error %q does not name the email channel", err)
	}
}

func TestLogSender(t *testing.T) {
	var buf bytes.Buffer
	s := NewLogSender(slog.New(slog.NewJSONHandler(&buf, nil)))
	if err := s.Send(context.Background(), testMsg); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("got %d lines, want 1: %q", len(lines), buf.String())
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"level":   "WARN",
		"msg":     "dev delivery",
		"pool":    "local_abc123XYZ",
		"channel": "sms",
		"to":      "+15555550100",
		"purpose": "sign_in",
		"code":    "123456",
		"body":    "Your code is 123456",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
}

func TestNewLogSenderNilPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("NewLogSender(nil) did not panic")
		}
	}()
	NewLogSender(nil)
}

func TestMessageHidesCode(t *testing.T) {
	for _, s := range []string{
		fmt.Sprint(testMsg), fmt.Sprintf("%v", testMsg), fmt.Sprintf("%+v", testMsg), fmt.Sprintf("%#v", testMsg),
	} {
		if strings.Contains(s, testMsg.Code) {
			t.Errorf("formatted message reveals the code: %s", s)
		}
	}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("x", "message", testMsg)
	if strings.Contains(buf.String(), testMsg.Code) {
		t.Errorf("slog reveals the code: %s", buf.String())
	}
	if !strings.Contains(buf.String(), `"to":"+15555550100"`) {
		t.Errorf("slog lost the destination: %s", buf.String())
	}
}

func TestFanout(t *testing.T) {
	var calls []string
	rec := func(name string, err error) Sender {
		return SenderFunc(func(_ context.Context, m Message) error {
			calls = append(calls, name+":"+m.Code)
			return err
		})
	}
	errA, errC := errors.New("a failed"), errors.New("c failed")
	err := Fanout(rec("a", errA), rec("b", nil), rec("c", errC)).Send(context.Background(), testMsg)
	if got := strings.Join(calls, ","); got != "a:123456,b:123456,c:123456" {
		t.Errorf("calls = %s", got)
	}
	if !errors.Is(err, errA) || !errors.Is(err, errC) {
		t.Errorf("error %v does not wrap both failures", err)
	}
	if err := Fanout(rec("d", nil)).Send(context.Background(), testMsg); err != nil {
		t.Errorf("all succeed: error %v", err)
	}
	if err := Fanout().Send(context.Background(), testMsg); err != nil {
		t.Errorf("no senders: error %v", err)
	}
	if err := Fanout(Unavailable()).Send(context.Background(), testMsg); !errors.Is(err, ErrNoProvider) {
		t.Errorf("error %v does not wrap ErrNoProvider", err)
	}
}
