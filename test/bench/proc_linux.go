package bench

import (
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"time"
)

// setChildAttrs makes the kernel stop the bench's node process if the bench
// itself dies, so no network outlives an interrupted run.
func setChildAttrs(c *exec.Cmd) {
	c.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
}

// clockTicks is USER_HZ, which Linux fixes at 100 on every architecture Go
// supports.
const clockTicks = 100

// processCPU returns the user+system CPU time a live process has used.
func processCPU(pid int) (time.Duration, error) {
	bz, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// Fields after the parenthesised command name; utime and stime are
	// fields 14 and 15 of the whole line, 12 and 13 after it.
	s := string(bz)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
	}
	var utime, stime int64
	if _, err := fmt.Sscan(f[11], &utime); err != nil {
		return 0, err
	}
	if _, err := fmt.Sscan(f[12], &stime); err != nil {
		return 0, err
	}
	return time.Duration(utime+stime) * time.Second / clockTicks, nil
}

// processRSS returns a live process's resident memory now (VmRSS), its
// peak (VmHWM) and the anonymous part of the first (RssAnon: what is not
// a mapped file's pages, which the kernel may drop), in bytes.
func processRSS(pid int) (rss, peak, anon int64, err error) {
	v, err := procKB(fmt.Sprintf("/proc/%d/status", pid), "VmRSS", "VmHWM", "RssAnon")
	return v[0], v[1], v[2], err
}

// processAnonHuge returns the part of a live process's anonymous memory
// held in transparent huge pages (AnonHugePages of smaps_rollup), in
// bytes.
func processAnonHuge(pid int) (int64, error) {
	v, err := procKB(fmt.Sprintf("/proc/%d/smaps_rollup", pid), "AnonHugePages")
	return v[0], err
}

// transparentHugePages is the kernel's transparent huge pages mode for
// anonymous memory (always, madvise or never), "" where it cannot be
// read. Go's runtime asks for huge pages for none of its heap, so under
// madvise, the kernel's usual default, a large heap has none.
func transparentHugePages() string {
	bz, err := os.ReadFile("/sys/kernel/mm/transparent_hugepage/enabled")
	if err != nil {
		return ""
	}
	return hugePagesMode(string(bz))
}

// hugePagesMode picks the bracketed, chosen word of the kernel's
// "always [madvise] never".
func hugePagesMode(s string) string {
	for _, f := range strings.Fields(s) {
		if len(f) > 2 && f[0] == '[' && f[len(f)-1] == ']' {
			return f[1 : len(f)-1]
		}
	}
	return ""
}

// memTotal is the machine's memory in bytes (MemTotal of /proc/meminfo).
func memTotal() (int64, error) {
	v, err := procKB("/proc/meminfo", "MemTotal")
	return v[0], err
}

// procKB reads the "Key: N kB" lines of a /proc file named by keys, in
// bytes; a key the file lacks is an error.
func procKB(path string, keys ...string) ([]int64, error) {
	out := make([]int64, len(keys))
	bz, err := os.ReadFile(path)
	if err != nil {
		return out, err
	}
	found := 0
	for _, line := range strings.Split(string(bz), "\n") {
		f := strings.Fields(line)
		if len(f) != 3 || f[2] != "kB" {
			continue
		}
		if i := slices.Index(keys, strings.TrimSuffix(f[0], ":")); i >= 0 {
			if _, err := fmt.Sscan(f[1], &out[i]); err != nil {
				return out, fmt.Errorf("%s: %s: %w", path, f[0], err)
			}
			out[i] <<= 10
			found++
		}
	}
	if found != len(keys) {
		return out, fmt.Errorf("%s: want %s", path, strings.Join(keys, ", "))
	}
	return out, nil
}
