package rowcodec

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/latchkey/latchkey/internal/store"
)

// GCRA arithmetic, in integer milliseconds, for the backends' store.Limits.
// A bucket of Burst B that gains a token every T is one number, its
// theoretical arrival time tat: the bucket is full from tat on, and before
// that it lacks (tat-now)/T tokens, rounded up.
// Taking a token moves tat to max(tat, now)+T, which is allowed while the
// bucket would lack no more than B tokens: tat'-now <= B*T.
//
// A missing bucket is full: its tat is now. The backends read and write
// tats; what they do to them is computed here.

// maxWindow caps B*T so that no tat arithmetic overflows int64: tats stay
// below now + maxWindow + T. 2^62 ms is some 146 million years, so the cap
// only matters to a bucket that could hold that much time's worth of
// tokens, from which it lets fewer be taken at once.
const maxWindow = 1 << 62

// Bucket is a store.Limit in millisecond arithmetic.
type Bucket struct {
	burst  int64 // B
	every  int64 // T in ms, at least 1
	window int64 // B*T in ms, at most maxWindow
}

// NewBucket checks l and converts it. Every is rounded up to a whole
// millisecond, the store's precision: a longer Every only makes the limit
// stricter, so the bound Burst + d/Every still holds.
func NewBucket(l store.Limit) (Bucket, error) {
	switch {
	case l.Key == "":
		return Bucket{}, errors.New("empty key")
	case l.Burst <= 0:
		return Bucket{}, fmt.Errorf("%q: burst %d is not positive", l.Key, l.Burst)
	case l.Every <= 0:
		return Bucket{}, fmt.Errorf("%q: interval %v is not positive", l.Key, l.Every)
	}
	every := int64(l.Every / time.Millisecond)
	if l.Every%time.Millisecond != 0 {
		every++
	}
	burst := int64(l.Burst)
	return Bucket{burst: burst, every: every, window: mulCapped(burst, every)}, nil
}

// NewBuckets checks and converts the limits of a TakeTokens call. It
// returns their buckets, in the order of limits, and their keys
// deduplicated and in byte order: the order in which to read, lock and
// write the rows.
func NewBuckets(limits []store.Limit) (buckets []Bucket, keys []string, err error) {
	buckets = make([]Bucket, len(limits))
	keys = make([]string, len(limits))
	for i, l := range limits {
		b, err := NewBucket(l)
		if err != nil {
			return nil, nil, fmt.Errorf("limit %d: %w", i, err)
		}
		buckets[i], keys[i] = b, l.Key
	}
	slices.Sort(keys)
	return buckets, slices.Compact(keys), nil
}

// mulCapped returns a*b for positive a and b, or maxWindow if a*b is more.
func mulCapped(a, b int64) int64 {
	if a > maxWindow/b {
		return maxWindow
	}
	return a * b
}

// Take takes one token at now from the bucket whose tat is tat. It returns
// the new tat, or ok == false and the earliest time a take would succeed.
func (b Bucket) Take(tat, now int64) (next, retryAt int64, ok bool) {
	next = max(tat, now) + b.every
	if next-now <= b.window {
		return next, 0, true
	}
	return 0, next - b.window, false
}

// Tokens returns how many whole tokens the bucket whose tat is tat holds at
// now: B*T-debt rounded down to whole Ts, which is B less the debt rounded
// up, computed without B*T so that it is exact even when window is capped.
func (b Bucket) Tokens(tat, now int64) int {
	debt := max(0, tat-now)
	owed := debt / b.every
	if debt%b.every != 0 {
		owed++
	}
	return int(max(0, b.burst-owed))
}

// TakeAll takes a token for each limit in turn from tats (key to tat; a
// missing key is a full bucket), updating tats; buckets are the limits'
// buckets. It stops at the first limit that has no token and returns its
// index and retry time, or -1.
func TakeAll(limits []store.Limit, buckets []Bucket, tats map[string]int64, now int64) (denied int, retryAt int64) {
	for i, l := range limits {
		tat, ok := tats[l.Key]
		if !ok {
			tat = now
		}
		next, retry, ok := buckets[i].Take(tat, now)
		if !ok {
			return i, retry
		}
		if l.Refund {
			// Checked and written like the others, but the token stays.
			next = tat
		}
		tats[l.Key] = next
	}
	return -1, 0
}

// ReturnBack checks a ReturnTokens call and returns how many milliseconds
// giving back n tokens moves l's tat back: 0 when n is 0, and at most
// maxWindow. The new tat is max(now, tat - back), never before the full
// bucket.
func ReturnBack(l store.Limit, n int) (int64, error) {
	b, err := NewBucket(l)
	if err != nil {
		return 0, fmt.Errorf("return tokens: %w", err)
	}
	if n < 0 {
		return 0, fmt.Errorf("return tokens to %q: negative count %d", l.Key, n)
	}
	if n == 0 {
		return 0, nil
	}
	return mulCapped(int64(n), b.every), nil
}
