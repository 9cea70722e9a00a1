package token

import (
	"encoding/json"
	"math"
	"time"
)

// Claims is a JWT payload. Claims returned by Verify hold what encoding/json
// produces for map[string]any: numbers are float64, arrays []any.
type Claims map[string]any

// String returns the named claim, or "" if it is absent or not a string.
func (c Claims) String(name string) string {
	s, _ := c[name].(string)
	return s
}

// maxNumericDate bounds NumericDates to what a float64 holds exactly as whole
// seconds; it also keeps conversions to int64 and time.Time well defined.
const maxNumericDate = 1 << 53

// Time returns the named claim read as a NumericDate (seconds since the Unix
// epoch, RFC 7519 §2), in UTC. It accepts float64 and json.Number (what
// decoding produces) and int and int64 (what callers put in before signing).
// ok is false if the claim is absent, not a number, or out of range.
func (c Claims) Time(name string) (t time.Time, ok bool) {
	switch v := c[name].(type) {
	case float64:
		return floatTime(v)
	case json.Number:
		if n, err := v.Int64(); err == nil {
			return intTime(n)
		}
		f, err := v.Float64()
		if err != nil {
			return time.Time{}, false
		}
		return floatTime(f)
	case int64:
		return intTime(v)
	case int:
		return intTime(int64(v))
	}
	return time.Time{}, false
}

func intTime(n int64) (time.Time, bool) {
	if n > maxNumericDate || n < -maxNumericDate {
		return time.Time{}, false
	}
	return time.Unix(n, 0).UTC(), true
}

func floatTime(f float64) (time.Time, bool) {
	if math.IsNaN(f) || math.Abs(f) > maxNumericDate {
		return time.Time{}, false
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)).UTC(), true
}
