package loadgen

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// procReader reads a process's CPU time and memory from Linux's /proc.
type procReader struct {
	root string // "/proc"
	hz   int64  // clock ticks per second of /proc/PID/stat
}

func newProcReader() procReader {
	hz := int64(100) // USER_HZ on every Linux architecture Go supports
	if data, err := os.ReadFile("/proc/self/auxv"); err == nil {
		if v, ok := parseAuxvClockTicks(data); ok {
			hz = v
		}
	}
	return procReader{root: "/proc", hz: hz}
}

// cpu returns the user and system CPU time process pid has used so far.
func (p procReader) cpu(pid string) (time.Duration, error) {
	data, err := os.ReadFile(p.root + "/" + pid + "/stat")
	if err != nil {
		return 0, err
	}
	return parseStatCPU(data, p.hz)
}

// memory returns process pid's peak and current resident set size, in
// bytes.
func (p procReader) memory(pid string) (peak, current int64, err error) {
	data, err := os.ReadFile(p.root + "/" + pid + "/status")
	if err != nil {
		return 0, 0, err
	}
	return parseStatusMemory(data)
}

// parseStatCPU reads utime + stime (fields 14 and 15) from the text of
// /proc/PID/stat. The command name (field 2) is in parentheses and may
// hold spaces and parentheses itself, so fields are counted from the last
// ')'.
func parseStatCPU(data []byte, hz int64) (time.Duration, error) {
	i := bytes.LastIndexByte(data, ')')
	if i < 0 || hz <= 0 {
		return 0, errors.New("malformed /proc stat: no command name")
	}
	// After ")": state (field 3), ppid (4), …, utime (14), stime (15).
	fields := strings.Fields(string(data[i+1:]))
	const utime = 14 - 3
	if len(fields) <= utime+1 {
		return 0, fmt.Errorf("malformed /proc stat: %d fields after the command name", len(fields))
	}
	var ticks int64
	for _, f := range fields[utime : utime+2] {
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("malformed /proc stat: CPU time %q", f)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / time.Duration(hz), nil
}

// parseStatusMemory reads VmHWM (peak resident set) and VmRSS from the text
// of /proc/PID/status, in bytes.
func parseStatusMemory(data []byte) (peak, current int64, err error) {
	var found int
	for line := range strings.Lines(string(data)) {
		name, value, ok := strings.Cut(line, ":")
		if !ok || (name != "VmHWM" && name != "VmRSS") {
			continue
		}
		f := strings.Fields(value)
		if len(f) != 2 || f[1] != "kB" {
			return 0, 0, fmt.Errorf("malformed /proc status line %q", strings.TrimSpace(line))
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil || kb < 0 {
			return 0, 0, fmt.Errorf("malformed /proc status line %q", strings.TrimSpace(line))
		}
		if name == "VmHWM" {
			peak = kb * 1024
		} else {
			current = kb * 1024
		}
		found++
	}
	if found != 2 {
		return 0, 0, errors.New("/proc status has no VmHWM and VmRSS (a kernel thread, or not Linux)")
	}
	return peak, current, nil
}

// parseAuxvClockTicks finds AT_CLKTCK, the clock ticks per second of
// /proc/PID/stat, in the auxiliary vector (/proc/self/auxv): pairs of
// native words, type then value, ending with AT_NULL.
func parseAuxvClockTicks(data []byte) (int64, bool) {
	const atNull, atClkTck = 0, 17
	word := strconv.IntSize / 8
	for len(data) >= 2*word {
		var typ, val uint64
		if word == 8 {
			typ, val = binary.NativeEndian.Uint64(data), binary.NativeEndian.Uint64(data[8:])
		} else {
			typ, val = uint64(binary.NativeEndian.Uint32(data)), uint64(binary.NativeEndian.Uint32(data[4:]))
		}
		switch typ {
		case atNull:
			return 0, false
		case atClkTck:
			return int64(val), val > 0 && val <= 1_000_000
		}
		data = data[2*word:]
	}
	return 0, false
}
