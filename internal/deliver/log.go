package deliver

import (
	"context"
	"log/slog"
)

// logSender is the dev sender that prints codes to the log.
type logSender struct{ logger *slog.Logger }

// NewLogSender returns the DEV sender that writes one WARN line per message
// with msg "dev delivery" and attrs pool, channel, to, purpose, code and
// body. It is the only place a code is logged, on purpose: WARN so that it
// stands out if dev delivery is ever left on. logger must not be nil.
func NewLogSender(logger *slog.Logger) Sender {
	if logger == nil {
		panic("deliver: NewLogSender needs a non-nil logger")
	}
	return logSender{logger: logger}
}

func (s logSender) Send(ctx context.Context, m Message) error {
	s.logger.LogAttrs(ctx, slog.LevelWarn, "dev delivery",
		slog.String("pool", m.PoolID),
		slog.String("channel", string(m.Channel)),
		slog.String("to", m.To),
		slog.String("purpose", m.Purpose),
		slog.String("code", m.Code),
		slog.String("body", m.Body),
	)
	return nil
}
