-- The regulator SQL schema before the regulator owned its tables (jinlian_movements
-- a view over CometBFT's event sink): TestSQLSchemaInstallsAndUpgrades upgrades it.
-- jinlian's additions to CometBFT's psql event schema (install after
-- cometbft_schema.sql). CometBFT stamps rows with the time it indexed them;
-- a jinlian observer also writes each block's consensus time here, so that
-- "this week" means block time even for blocks indexed during a replay.

CREATE TABLE IF NOT EXISTS jinlian_block_times (
  chain_id VARCHAR     NOT NULL,
  height   BIGINT      NOT NULL,
  time     TIMESTAMPTZ NOT NULL,
  PRIMARY KEY (chain_id, height)
);

-- One row per jinlian transaction (its jinlian_tx event): the SM3 tx id,
-- sub-ledger, sender address, sender organisation and message type. Failed
-- transactions have no events and so no row.
CREATE OR REPLACE VIEW jinlian_txs AS
SELECT b.chain_id,
       b.height,
       r.index                                   AS tx_index,
       r.tx_hash,
       COALESCE(bt.time, r.created_at)           AS block_time,
       max(a.value) FILTER (WHERE a.key = 'id')     AS tx_id,
       max(a.value) FILTER (WHERE a.key = 'ledger') AS ledger,
       max(a.value) FILTER (WHERE a.key = 'sender') AS sender,
       max(a.value) FILTER (WHERE a.key = 'org')    AS org,
       max(a.value) FILTER (WHERE a.key = 'type')   AS type
FROM events e
JOIN tx_results r ON r.rowid = e.tx_id
JOIN blocks b     ON b.rowid = e.block_id
JOIN attributes a ON a.event_id = e.rowid
LEFT JOIN jinlian_block_times bt ON bt.chain_id = b.chain_id AND bt.height = b.height
WHERE e.type = 'jinlian_tx'
GROUP BY b.chain_id, b.height, r.index, r.tx_hash, bt.time, r.created_at;

-- One row per payment movement (issue, transfer, burn, redeem event),
-- with the transaction's id, both parties' organisations (the recipient's
-- as the state machine found it when paying), the payment reference (memo)
-- and the balances after it. amount is in the asset's smallest unit.
DROP VIEW IF EXISTS jinlian_movements;
CREATE VIEW jinlian_movements AS
SELECT m.chain_id, m.height, m.tx_index, t.tx_id, t.block_time, m.kind,
       m.ledger, m.asset, m.sender, t.org AS sender_org, m.recipient, m.recipient_org,
       m.amount, m.memo, m.sender_balance, m.recipient_balance
FROM (
  SELECT b.chain_id, b.height, r.index AS tx_index, e.rowid AS event_id, e.type AS kind,
         max(a.value) FILTER (WHERE a.key = 'ledger')           AS ledger,
         max(a.value) FILTER (WHERE a.key = 'asset')            AS asset,
         max(a.value) FILTER (WHERE a.key = 'from')             AS sender,
         max(a.value) FILTER (WHERE a.key = 'to')               AS recipient,
         max(a.value) FILTER (WHERE a.key = 'to_org')           AS recipient_org,
         (max(a.value) FILTER (WHERE a.key = 'amount'))::numeric AS amount,
         max(a.value) FILTER (WHERE a.key = 'memo')             AS memo,
         (max(a.value) FILTER (WHERE a.key = 'from_balance'))::numeric AS sender_balance,
         (max(a.value) FILTER (WHERE a.key = 'to_balance'))::numeric   AS recipient_balance
  FROM events e
  JOIN tx_results r ON r.rowid = e.tx_id
  JOIN blocks b     ON b.rowid = e.block_id
  JOIN attributes a ON a.event_id = e.rowid
  WHERE e.type IN ('issue', 'transfer', 'burn', 'redeem')
  GROUP BY b.chain_id, b.height, r.index, e.rowid, e.type
) m
JOIN jinlian_txs t ON t.chain_id = m.chain_id AND t.height = m.height AND t.tx_index = m.tx_index;
