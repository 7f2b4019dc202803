-- The regulator's own tables and views. The regulator service installs
-- them itself (every statement here is idempotent) and fills them from the
-- observer's index, with its own cursor: PostgreSQL being down delays these
-- rows, never the index or the alerts, and they catch up with no gap.
-- Amounts are NUMERIC in the asset's smallest unit. Times are consensus
-- block times. Dates in the views follow the session's TimeZone
-- (SET TIME ZONE 'Asia/Shanghai' for business days in Beijing time).

-- jinlian_movements used to be a view over CometBFT's event sink: a table now.
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_views WHERE schemaname = current_schema() AND viewname = 'jinlian_movements') THEN
    DROP VIEW jinlian_movements;
  END IF;
END $$;

-- The cursor: the highest height whose rows are loaded, per chain. It is
-- written in the same transaction as the rows.
CREATE TABLE IF NOT EXISTS jinlian_sql_cursor (
  chain_id  VARCHAR     NOT NULL PRIMARY KEY,
  height    BIGINT      NOT NULL,
  loaded_at TIMESTAMPTZ NOT NULL
);

-- Each block's consensus time (every height, with or without movements).
CREATE TABLE IF NOT EXISTS jinlian_block_times (
  chain_id VARCHAR     NOT NULL,
  height   BIGINT      NOT NULL,
  time     TIMESTAMPTZ NOT NULL,
  PRIMARY KEY (chain_id, height)
);

-- One row per movement of an executed transaction: issue, transfer, burn,
-- redeem, redemption_returned. sender is the issuer of an issue;
-- recipient is NULL for a burn or redemption. The organisations are the
-- ones the observer knew for the addresses when the block was indexed.
-- memo is the transaction's payment reference. The balances are the
-- accounts' balances after the movement, as the state machine reported
-- them (NULL where the kind moves no balance of that party). refund is
-- true for a transfer that returns a PvP leg from its escrow to its payer
-- (the transaction refunded the trade): the payer's own money coming back,
-- which the rules count neither as a payment nor as a receipt.
CREATE TABLE IF NOT EXISTS jinlian_movements (
  chain_id          VARCHAR     NOT NULL,
  height            BIGINT      NOT NULL,
  tx_index          INTEGER     NOT NULL,
  event             INTEGER     NOT NULL,
  tx_id             VARCHAR     NOT NULL,
  block_time        TIMESTAMPTZ NOT NULL,
  kind              VARCHAR     NOT NULL,
  ledger            VARCHAR     NOT NULL,
  asset             VARCHAR     NOT NULL,
  sender            VARCHAR     NOT NULL,
  sender_org        VARCHAR,
  recipient         VARCHAR,
  recipient_org     VARCHAR,
  amount            NUMERIC(20) NOT NULL,
  memo              VARCHAR,
  sender_balance    NUMERIC(20),
  recipient_balance NUMERIC(20),
  refund            BOOLEAN     NOT NULL DEFAULT false,
  PRIMARY KEY (chain_id, height, tx_index, event)
);
-- A table made before refund existed takes the column; its rows read
-- false until reloaded (jinlian reg sql backfill --from-height 1). The
-- catalogue is asked first, so that a table that has the column is not
-- locked (ALTER TABLE would wait behind, and hold up, analysts' queries).
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM information_schema.columns
                 WHERE table_schema = current_schema() AND table_name = 'jinlian_movements' AND column_name = 'refund') THEN
    ALTER TABLE jinlian_movements ADD COLUMN refund BOOLEAN NOT NULL DEFAULT false;
  END IF;
END $$;
CREATE INDEX IF NOT EXISTS jinlian_movements_time ON jinlian_movements (block_time);
CREATE INDEX IF NOT EXISTS jinlian_movements_tx ON jinlian_movements (tx_id);
CREATE INDEX IF NOT EXISTS jinlian_movements_sender ON jinlian_movements (sender);
CREATE INDEX IF NOT EXISTS jinlian_movements_recipient ON jinlian_movements (recipient);

-- One row per alert the rules raised (acknowledgements stay in the
-- observer's operator store, GET /v1/alerts).
CREATE TABLE IF NOT EXISTS jinlian_alerts (
  chain_id   VARCHAR     NOT NULL,
  id         VARCHAR     NOT NULL,
  seq        BIGINT      NOT NULL,
  height     BIGINT      NOT NULL,
  block_time TIMESTAMPTZ NOT NULL,
  rule       VARCHAR     NOT NULL,
  severity   VARCHAR     NOT NULL,
  subject    VARCHAR     NOT NULL,
  tx_ids     VARCHAR[]   NOT NULL,
  reason     VARCHAR     NOT NULL,
  PRIMARY KEY (chain_id, id)
);
CREATE INDEX IF NOT EXISTS jinlian_alerts_height ON jinlian_alerts (chain_id, height);

-- Daily gross flows per ordered bank pair per asset (transfers only).
CREATE OR REPLACE VIEW jinlian_daily_flows AS
SELECT chain_id, date_trunc('day', block_time) AS day, asset, sender_org, recipient_org,
       count(*) AS transfers, sum(amount) AS gross
FROM jinlian_movements
WHERE kind = 'transfer'
GROUP BY 1, 2, 3, 4, 5;

-- Daily flows per unordered bank pair per asset: org_a < org_b, what each
-- sent the other, the gross (both ways) and the net (a_to_b − b_to_a,
-- positive when org_a paid org_b more). Transfers within one organisation
-- have org_a = org_b and net 0.
CREATE OR REPLACE VIEW jinlian_daily_net_flows AS
SELECT chain_id, day, asset,
       LEAST(sender_org, recipient_org)    AS org_a,
       GREATEST(sender_org, recipient_org) AS org_b,
       sum(transfers) AS transfers,
       COALESCE(sum(gross) FILTER (WHERE sender_org <= recipient_org), 0) AS a_to_b,
       COALESCE(sum(gross) FILTER (WHERE sender_org > recipient_org), 0)  AS b_to_a,
       sum(gross) AS gross,
       COALESCE(sum(gross) FILTER (WHERE sender_org < recipient_org), 0)
         - COALESCE(sum(gross) FILTER (WHERE sender_org > recipient_org), 0) AS net
FROM jinlian_daily_flows
GROUP BY 1, 2, 3, 4, 5;

-- Daily totals per ordered pair of accounts per asset (transfers only):
-- sum it over a period for the top counterparties.
CREATE OR REPLACE VIEW jinlian_daily_counterparties AS
SELECT chain_id, date_trunc('day', block_time) AS day, asset, sender, sender_org, recipient, recipient_org,
       count(*) AS transfers, sum(amount) AS total
FROM jinlian_movements
WHERE kind = 'transfer'
GROUP BY 1, 2, 3, 4, 5, 6, 7;

-- Alerts per rule and severity per day.
CREATE OR REPLACE VIEW jinlian_daily_alerts AS
SELECT chain_id, date_trunc('day', block_time) AS day, rule, severity, count(*) AS alerts
FROM jinlian_alerts
GROUP BY 1, 2, 3, 4;
