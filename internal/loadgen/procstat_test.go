package loadgen

import (
	"encoding/binary"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestParseStatCPU(t *testing.T) {
	tests := []struct {
		name    string
		stat    string
		hz      int64
		want    time.Duration
		wantErr bool
	}{
		{"plain", "1234 (latchkey) S 1 1234 1234 0 -1 4194560 5000 0 0 0 250 50 0 0 20 0 12 0 100 0 0", 100, 3 * time.Second, false},
		{"name with spaces and parens", "77 (my (odd) name) R 1 77 77 0 -1 0 0 0 0 0 7 3 0 0 20 0 1 0", 100, 100 * time.Millisecond, false},
		{"other tick rate", "5 (x) S 1 5 5 0 -1 0 0 0 0 0 1000 0 0 0", 1000, time.Second, false},
		{"too short", "5 (x) S 1 5", 100, 0, true},
		{"no name", "5 x S 1", 100, 0, true},
		{"not a number", "5 (x) S 1 5 5 0 -1 0 0 0 0 0 ten 0 0 0", 100, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseStatCPU([]byte(tt.stat), tt.hz)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("parseStatCPU = %v, %v; want %v, error %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestParseStatusMemory(t *testing.T) {
	tests := []struct {
		name          string
		status        string
		peak, current int64
		wantErr       bool
	}{
		{"both", "Name:\tlatchkey\nVmPeak:\t 2000000 kB\nVmHWM:\t   81234 kB\nVmRSS:\t   80000 kB\nThreads:\t12\n", 81234 * 1024, 80000 * 1024, false},
		{"kernel thread", "Name:\tkthreadd\nThreads:\t1\n", 0, 0, true},
		{"bad unit", "VmHWM:\t1 MB\nVmRSS:\t1 kB\n", 0, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			peak, cur, err := parseStatusMemory([]byte(tt.status))
			if (err != nil) != tt.wantErr || peak != tt.peak || cur != tt.current {
				t.Errorf("parseStatusMemory = %d, %d, %v; want %d, %d, error %v", peak, cur, err, tt.peak, tt.current, tt.wantErr)
			}
		})
	}
}

func auxv(pairs ...uint64) []byte {
	word := strconv.IntSize / 8
	out := make([]byte, len(pairs)*word)
	for i, v := range pairs {
		if word == 8 {
			binary.NativeEndian.PutUint64(out[i*8:], v)
		} else {
			binary.NativeEndian.PutUint32(out[i*4:], uint32(v))
		}
	}
	return out
}

func TestParseAuxvClockTicks(t *testing.T) {
	tests := []struct {
		name string
		data []byte
		want int64
		ok   bool
	}{
		{"found", auxv(6, 4096, 17, 100, 0, 0), 100, true},
		{"first", auxv(17, 250, 0, 0), 250, true},
		{"after AT_NULL is not read", auxv(6, 4096, 0, 0, 17, 100), 0, false},
		{"absent", auxv(6, 4096, 0, 0), 0, false},
		{"truncated", auxv(6, 4096, 17)[:12], 0, false},
		{"empty", nil, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := parseAuxvClockTicks(tt.data)
			if got != tt.want || ok != tt.ok {
				t.Errorf("parseAuxvClockTicks = %d, %v; want %d, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}

// TestProcReaderSelf reads this process, where /proc exists.
func TestProcReaderSelf(t *testing.T) {
	p := newProcReader()
	cpu, err := p.cpu("self")
	if err != nil {
		t.Skipf("no /proc here: %v", err)
	}
	if cpu < 0 {
		t.Errorf("cpu = %v", cpu)
	}
	peak, cur, err := p.memory("self")
	if err != nil || peak <= 0 || cur <= 0 || cur > peak {
		t.Errorf("memory = %d, %d, %v; want 0 < current <= peak", peak, cur, err)
	}
	if _, err := p.cpu(strings.Repeat("9", 12)); err == nil {
		t.Error("a process that does not exist has a CPU time")
	}
}
