package e2e

import (
	"database/sql"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	_ "github.com/lib/pq"

	"github.com/jinlian-ledger/jinlian/consensus"
	"github.com/jinlian-ledger/jinlian/internal/heavytest"
	"github.com/jinlian-ledger/jinlian/node/localnet"
	"github.com/jinlian-ledger/jinlian/regulator"
)

// postgres is a throwaway PostgreSQL server.
type postgres struct {
	conn        string
	stop, start func() error // the server, for outage tests
}

// pgBinDir finds PostgreSQL's server binaries (initdb, pg_ctl). Tests
// never install them: .ci/run does, and the test skips, saying how, when
// they are missing.
func pgBinDir(t *testing.T) string {
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

// startPostgres runs initdb and a server on a free port in a temporary
// directory, as the postgres user when running as root (the server
// refuses root), and stops it when the test ends.
func startPostgres(t *testing.T) *postgres {
	t.Helper()
	bin := pgBinDir(t)
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
	return &postgres{conn: fmt.Sprintf("postgres://jinlian@127.0.0.1:%d/jinlian?sslmode=disable", port),
		stop:  ctl("-m", "fast", "-w", "stop"),
		start: ctl("-o", opts, "-l", filepath.Join(dir, "log"), "-w", "-t", "60", "start")}
}

// The queries docs/regulator.md gives analysts.
const (
	largeTransfersThisWeek = `
SELECT block_time, tx_id, sender_org, sender, recipient, asset, amount
FROM jinlian_movements
WHERE kind = 'transfer' AND asset = 'CNY' AND amount >= 100000
  AND block_time >= date_trunc('week', now())
ORDER BY amount DESC`
	topCounterparties = `
SELECT sender, recipient, count(*) AS transfers, sum(amount) AS total
FROM jinlian_movements
WHERE kind = 'transfer' AND asset = 'CNY'
  AND block_time >= now() - interval '30 days'
GROUP BY sender, recipient
ORDER BY total DESC
LIMIT 10`
	dailyBankPairFlows = `
SELECT date_trunc('day', block_time) AS day, sender_org, recipient_org, asset,
       sum(amount) AS gross, count(*) AS transfers
FROM jinlian_movements
WHERE kind = 'transfer'
GROUP BY 1, 2, 3, 4
ORDER BY 1 DESC, gross DESC`
	dailyOrgFlows = `
SELECT date_trunc('day', block_time) AS day, sender_org, asset, sum(amount) AS sent, count(*) AS transfers
FROM jinlian_movements
WHERE kind = 'transfer'
GROUP BY 1, 2, 3
ORDER BY 1 DESC, sent DESC`
)

// TestPsqlEventSink: an observer with tx_index.indexer = "psql" writes every
// committed event to a real PostgreSQL, and the documented analyst queries
// find the transfers.
func TestPsqlEventSink(t *testing.T) {
	heavytest.Begin(t, "starts PostgreSQL and a localnet")
	pg := startPostgres(t)
	db, err := sql.Open("postgres", pg.conn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, schema := range []string{regulator.PsqlCometBFTSchema, regulator.PsqlJinlianSchema} {
		if _, err := db.Exec(schema); err != nil {
			t.Fatalf("install schema: %v", err)
		}
	}
	n := startLocalnet(t, func(ln *localnet.Net) {
		home := ln.Network.Nodes[1].Home // observer0
		c, err := consensus.LoadConfig(home)
		if err != nil {
			t.Fatal(err)
		}
		c.TxIndex.Indexer, c.TxIndex.PsqlConn = "psql", pg.conn
		if err := consensus.WriteConfig(home, c); err != nil {
			t.Fatal(err)
		}
	})
	svc := newService(t, n.obs.Client(), regulator.QueryFromClient(n.obs.Client()), t.TempDir(), nil, pg.conn)
	defer svc.Stop()

	_, big := n.newMember(t)
	_, small := n.newMember(t)
	largeID, _ := n.transfer(t, big, 150_000, nil)
	n.transfer(t, small, 1_000, nil)
	_, h := n.transfer(t, small, 2_000, nil)
	waitIndexed(t, svc, h)

	// The sink indexes asynchronously: wait for the last transfer's row.
	deadline := time.Now().Add(30 * time.Second)
	for {
		var rows int
		if err := db.QueryRow(`SELECT count(*) FROM jinlian_movements WHERE kind = 'transfer'`).Scan(&rows); err != nil {
			t.Fatal(err)
		}
		if rows >= 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d transfers in PostgreSQL after 30s, want 3", rows)
		}
		time.Sleep(200 * time.Millisecond)
	}

	rows, err := db.Query(largeTransfersThisWeek)
	if err != nil {
		t.Fatal(err)
	}
	var large []string
	for rows.Next() {
		var at time.Time
		var id, org, from, to, asset string
		var amount int64
		if err := rows.Scan(&at, &id, &org, &from, &to, &asset, &amount); err != nil {
			t.Fatal(err)
		}
		if org != "bankA" || to != big.String() || amount != 150_000 {
			t.Fatalf("large transfer row %s %s %s %s %d", id, org, from, to, amount)
		}
		large = append(large, id)
	}
	rows.Close()
	if len(large) != 1 || large[0] != largeID {
		t.Fatalf("large transfers this week: %v, want [%s]", large, largeID)
	}

	rows, err = db.Query(topCounterparties)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for rows.Next() {
		var from, to string
		var count int
		var total int64
		if err := rows.Scan(&from, &to, &count, &total); err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%s:%d:%d", to[:8], count, total))
	}
	rows.Close()
	want := []string{big.String()[:8] + ":1:150000", small.String()[:8] + ":2:3000"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("top counterparties %v, want %v", got, want)
	}

	var day time.Time
	var org, asset string
	var sent int64
	var count int
	if err := db.QueryRow(dailyOrgFlows).Scan(&day, &org, &asset, &sent, &count); err != nil {
		t.Fatal(err)
	}
	if org != "bankA" || asset != "CNY" || sent != 153_000 || count != 3 {
		t.Fatalf("daily flows: %s %s %s %d %d", day, org, asset, sent, count)
	}

	var from, to string
	var gross int64
	if err := db.QueryRow(dailyBankPairFlows).Scan(&day, &from, &to, &asset, &gross, &count); err != nil {
		t.Fatal(err)
	}
	if from != "bankA" || to != "bankA" || asset != "CNY" || gross != 153_000 || count != 3 {
		t.Fatalf("daily flows per bank pair: %s %s→%s %s %d %d", day, from, to, asset, gross, count)
	}
	var memo, recipientOrg string
	var senderBal, recipientBal int64
	if err := db.QueryRow(`SELECT memo, recipient_org, sender_balance, recipient_balance FROM jinlian_movements WHERE tx_id = $1`, largeID).
		Scan(&memo, &recipientOrg, &senderBal, &recipientBal); err != nil {
		t.Fatal(err)
	}
	if memo != "invoice 150000" || recipientOrg != "bankA" || recipientBal != 150_000 || senderBal <= 0 {
		t.Fatalf("large transfer row: memo %q, recipient org %q, balances %d/%d", memo, recipientOrg, senderBal, recipientBal)
	}

	// Block times come from consensus, not from when the sink ran, and
	// the observer writes them apart from indexing: they catch up.
	timesUpTo(t, db, h)

	// An outage of PostgreSQL stops neither the index nor the alerts, and
	// the block times of the outage arrive when it is back.
	if err := pg.stop(); err != nil {
		t.Fatal(err)
	}
	during, _ := n.transfer(t, big, 160_000, nil)
	_, h2 := n.transfer(t, small, 3_000, nil)
	waitIndexed(t, svc, h2)
	if _, err := svc.Index().Tx(during); err != nil {
		t.Fatalf("the transfer made during the outage is not indexed: %v", err)
	}
	if err := pg.start(); err != nil {
		t.Fatal(err)
	}
	timesUpTo(t, db, h2)
	t.Logf("psql sink: large transfers this week %v; top counterparties %v", large, got)
}

// timesUpTo waits until jinlian_block_times holds every height 1..h of the
// chain, with no gap.
func timesUpTo(t *testing.T, db *sql.DB, h int64) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		var n, top int64
		err := db.QueryRow(`SELECT count(*), COALESCE(max(height), 0) FROM jinlian_block_times WHERE height <= $1`, h).Scan(&n, &top)
		if err == nil && n == h && top == h {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("block times up to %d: %d rows, highest %d (%v)", h, n, top, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
