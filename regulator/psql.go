package regulator

import (
	"context"
	"database/sql"
	_ "embed"
	"fmt"
	"time"

	_ "github.com/lib/pq" // the postgres driver, as CometBFT's psql sink uses
)

// PsqlCometBFTSchema is CometBFT's event-sink schema (tx_index.indexer =
// "psql"), and PsqlJinlianSchema jinlian's block-time table and views over
// it. `jinlian reg sql-schema` prints both.
var (
	//go:embed sql/cometbft_schema.sql
	PsqlCometBFTSchema string
	//go:embed sql/jinlian.sql
	PsqlJinlianSchema string
)

// blockTimes writes each indexed block's consensus time into the
// jinlian_block_times table of the observer's psql event sink.
type blockTimes struct {
	db *sql.DB
}

func openBlockTimes(conn string) (*blockTimes, error) {
	db, err := sql.Open("postgres", conn)
	if err != nil {
		return nil, fmt.Errorf("psql %q: %w", conn, err)
	}
	return &blockTimes{db: db}, nil
}

// record is idempotent, so a block retried after a failure is harmless.
func (b *blockTimes) record(ctx context.Context, chainID string, height int64, t time.Time) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_, err := b.db.ExecContext(ctx, `INSERT INTO jinlian_block_times (chain_id, height, time) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
		chainID, height, t.UTC())
	if err != nil {
		return fmt.Errorf("psql: block time of %d: %w (is jinlian.sql installed? jinlian reg sql-schema)", height, err)
	}
	return nil
}

// cursor is the highest height whose time the table holds (0: none).
func (b *blockTimes) cursor(ctx context.Context, chainID string) (int64, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var h int64
	if err := b.db.QueryRowContext(ctx, `SELECT COALESCE(max(height), 0) FROM jinlian_block_times WHERE chain_id = $1`, chainID).Scan(&h); err != nil {
		return 0, fmt.Errorf("psql: block-time cursor: %w (is jinlian.sql installed? jinlian reg sql-schema)", err)
	}
	return h, nil
}

func (b *blockTimes) close() error { return b.db.Close() }
