// Package pgtest runs a throwaway PostgreSQL server for tests: initdb and
// pg_ctl from Debian's postgresql package (which .ci/run installs) in a
// temporary directory. A test skips, saying how to install it, when the
// server binaries are missing. It imports nothing of jinlian and is
// imported by tests only.
package pgtest

import (
	"database/sql"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"testing"

	_ "github.com/lib/pq" // the postgres driver
)

// Server is a running PostgreSQL with one empty database, jinlian.
type Server struct {
	// Conn is the connection string of the database.
	Conn string
	// Stop and Start stop and restart the server, for outage tests.
	Stop, Start func() error
}

// BinDir finds PostgreSQL's server binaries (initdb, pg_ctl), or skips.
func BinDir(t testing.TB) string {
	t.Helper()
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	for i := len(dirs) - 1; i >= 0; i-- {
		if _, err := os.Stat(filepath.Join(dirs[i], "pg_ctl")); err == nil {
			return dirs[i]
		}
	}
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		return filepath.Dir(p)
	}
	t.Skip("PostgreSQL server not installed: .ci/run installs it; apt-get install -y postgresql")
	return ""
}

func tail(b []byte) string {
	if len(b) > 600 {
		b = b[len(b)-600:]
	}
	return string(b)
}

// Start runs initdb and a server on a free port in a temporary directory,
// as the postgres user when running as root (the server refuses root),
// and stops it when the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	bin := BinDir(t)
	dir, err := os.MkdirTemp("", "jinlian-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	run := func(name string, args ...string) ([]byte, error) {
		path := filepath.Join(bin, name)
		if os.Geteuid() != 0 {
			return exec.Command(path, args...).CombinedOutput()
		}
		return exec.Command("runuser", append([]string{"-u", "postgres", "--", path}, args...)...).CombinedOutput()
	}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Skip("running as root and there is no postgres user to run the server as")
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	data := filepath.Join(dir, "data")
	if out, err := run("initdb", "-D", data, "-A", "trust", "-U", "jinlian", "--no-sync"); err != nil {
		t.Fatalf("initdb: %v\n%s", err, tail(out))
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off", port, dir)
	if out, err := run("pg_ctl", "-D", data, "-o", opts, "-l", filepath.Join(dir, "log"), "-w", "-t", "60", "start"); err != nil {
		log, _ := os.ReadFile(filepath.Join(dir, "log"))
		t.Fatalf("pg_ctl start: %v\n%s\n%s", err, tail(out), tail(log))
	}
	t.Cleanup(func() { _, _ = run("pg_ctl", "-D", data, "-m", "fast", "-w", "stop") })
	ctl := func(args ...string) func() error {
		return func() error {
			if out, err := run("pg_ctl", append([]string{"-D", data}, args...)...); err != nil {
				return fmt.Errorf("pg_ctl %v: %v: %s", args, err, tail(out))
			}
			return nil
		}
	}
	admin, err := sql.Open("postgres", fmt.Sprintf("postgres://jinlian@127.0.0.1:%d/postgres?sslmode=disable", port))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if _, err := admin.Exec("CREATE DATABASE jinlian"); err != nil {
		t.Fatal(err)
	}
	return &Server{Conn: fmt.Sprintf("postgres://jinlian@127.0.0.1:%d/jinlian?sslmode=disable", port),
		Stop:  ctl("-m", "fast", "-w", "stop"),
		Start: ctl("-o", opts, "-l", filepath.Join(dir, "log"), "-w", "-t", "60", "start")}
}
