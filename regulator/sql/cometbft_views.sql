-- jinlian's view over CometBFT's psql event sink (install after
-- cometbft_schema.sql and jinlian.sql; only for observers that run the
-- sink, tx_index.indexer = "psql"). CometBFT stamps rows with the time it
-- indexed them; jinlian_block_times (written by the regulator service)
-- gives each block's consensus time. The sink keeps what it does well:
-- every transaction result, failed ones included, with its raw bytes and
-- every event. Its rows written during a PostgreSQL outage are lost; the
-- regulator's own tables (jinlian_movements, jinlian_alerts) are not.

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
