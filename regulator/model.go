package regulator

import (
	"time"
)

// Movement kinds, as the payments contract names its events; a redemption
// leaves the holder's balance (redeem) and comes back only if the issuer
// rejects it (redemption_returned).
const (
	KindIssue              = "issue"
	KindTransfer           = "transfer"
	KindBurn               = "burn"
	KindRedeem             = "redeem"
	KindRedemptionReturned = "redemption_returned"
)

// Block is one committed block as the indexer sees it: decoded
// transactions with their results. Synthetic workloads build it directly.
type Block struct {
	Height int64
	Time   time.Time
	Txs    []Tx
}

// Tx is a committed transaction (successful or not).
type Tx struct {
	ID        string `json:"id"`
	Hash      string `json:"hash,omitempty"` // CometBFT tx hash (hex)
	Height    int64  `json:"height"`
	Index     int    `json:"index"`
	Ledger    string `json:"ledger"`
	Sender    string `json:"sender"`
	Org       string `json:"org"`
	Type      string `json:"type"`
	Code      uint32 `json:"code"`
	Codespace string `json:"codespace,omitempty"`
	Log       string `json:"log,omitempty"`
	// Parties are the accounts the message names (sender, recipient), known
	// even when the transaction failed.
	Parties      []string `json:"parties"`
	Memo         string   `json:"memo,omitempty"`
	Confidential bool     `json:"confidential,omitempty"`
	// Asset and Amount are what a transfer, issue or burn asked to move,
	// known even when it failed (a refused attempt moves nothing).
	Asset  string `json:"asset,omitempty"`
	Amount uint64 `json:"amount,omitempty,string"`
	// Movements are the payment events of a successful transaction.
	Movements []Movement `json:"movements,omitempty"`
	// Sanctions are sanctions-list changes the transaction made.
	Sanctions []SanctionChange `json:"sanctions,omitempty"`
	// Identities are identities the transaction registered (address → org).
	Identities []IdentityOrg `json:"identities,omitempty"`
	// Thresholds are on-chain large-amount thresholds the transaction set.
	Thresholds []ThresholdChange `json:"thresholds,omitempty"`
	// Pvp is the payment-versus-payment trade the transaction funded,
	// settled or refunded, read from its typed events; nil for any other
	// transaction. Every movement of such a transaction goes into or out
	// of the trade's escrows.
	Pvp  *PvpTrade `json:"pvp,omitempty"`
	Time time.Time `json:"time"`
}

// OK reports whether the transaction executed.
func (t *Tx) OK() bool { return t.Code == 0 }

// Movement is one issue, transfer or burn. From is the issuer for an issue;
// To is empty for a burn.
type Movement struct {
	Kind   string `json:"kind"`
	Ledger string `json:"ledger"`
	Asset  string `json:"asset"`
	From   string `json:"from"`
	To     string `json:"to,omitempty"`
	Amount uint64 `json:"amount,string"`
	// FromBalance and ToBalance are the accounts' balances after the
	// movement, as the state machine reported them in its event.
	FromBalance uint64 `json:"from_balance,string"`
	ToBalance   uint64 `json:"to_balance,string"`
}

// PvP trade outcomes a transaction can have (PvpTrade.Status).
const (
	PvpFunded   = "funded"   // a leg went into its escrow; the trade is still open
	PvpSettled  = "settled"  // both legs left their escrows for their receivers
	PvpRefunded = "refunded" // the funded legs went back to their payers
)

// PvpTrade is what a transaction's pvp_funded, pvp_settled or
// pvp_refunded event says of a trade: both legs and their rate, and, once
// settled, who paid and who received each leg. The proposer pays leg A
// (LedgerA/AssetA/AmountA) to ReceiverB; the counterparty pays leg B to
// ReceiverA.
type PvpTrade struct {
	Trade        string `json:"trade"`
	Status       string `json:"status"`
	LedgerA      string `json:"ledger_a"`
	AssetA       string `json:"asset_a"`
	AmountA      uint64 `json:"amount_a,string"`
	LedgerB      string `json:"ledger_b"`
	AssetB       string `json:"asset_b"`
	AmountB      uint64 `json:"amount_b,string"`
	Rate         string `json:"rate"` // AmountB / AmountA, 10 decimals
	Proposer     string `json:"proposer,omitempty"`
	Counterparty string `json:"counterparty,omitempty"`
	ReceiverA    string `json:"receiver_a,omitempty"`
	ReceiverB    string `json:"receiver_b,omitempty"`
}

// SanctionChange is a sanctions-list entry added or removed.
type SanctionChange struct {
	Account string `json:"account"`
	Entry   string `json:"entry"`
	Reason  string `json:"reason,omitempty"`
	Source  string `json:"source,omitempty"` // the list the entry comes from
	Removed bool   `json:"removed"`
}

// ThresholdChange is an on-chain large-amount threshold of an asset
// (0 = cleared: the rule file's threshold applies again).
type ThresholdChange struct {
	Ledger string `json:"ledger"`
	Asset  string `json:"asset"`
	Amount uint64 `json:"amount"`
}

// IdentityOrg says which organisation an address belongs to.
type IdentityOrg struct {
	Address string `json:"address"`
	Org     string `json:"org"`
}

// Entry is an indexed movement: what GET /v1/txs lists.
type Entry struct {
	TxID    string    `json:"tx_id"`
	Height  int64     `json:"height"`
	Index   int       `json:"index"` // tx index in the block
	Event   int       `json:"event"` // movement index in the tx
	Time    time.Time `json:"time"`
	Kind    string    `json:"kind"`
	Ledger  string    `json:"ledger"`
	Asset   string    `json:"asset"`
	From    string    `json:"from"`
	To      string    `json:"to,omitempty"`
	Amount  uint64    `json:"amount,string"`
	FromOrg string    `json:"from_org,omitempty"`
	ToOrg   string    `json:"to_org,omitempty"`
	// FromBalance and ToBalance: the accounts' balances after it (issue:
	// To only; burn: From only).
	FromBalance uint64 `json:"from_balance,string,omitempty"`
	ToBalance   uint64 `json:"to_balance,string,omitempty"`
	// Refund: the movement returns a PvP leg from its escrow to its payer
	// (the transaction refunded a trade): the payer's own money coming
	// back, which structuring, velocity and fast-in/fast-out do not count
	// as a payment or a receipt (docs/regulator.md, Rules).
	Refund bool `json:"refund,omitempty"`
}

// HistoryEntry is one change of one key of an account: a balance
// (key <ledger>/<asset>) or its sanctions-list entry (key sanctions).
type HistoryEntry struct {
	Account string    `json:"account"`
	Key     string    `json:"key"`
	Height  int64     `json:"height"`
	Time    time.Time `json:"time"`
	TxID    string    `json:"tx_id"` // "genesis" for opening balances
	Kind    string    `json:"kind"`
	Delta   string    `json:"delta,omitempty"` // signed amount for balance keys
	Value   string    `json:"value"`           // balance after, or the list entry ("" once removed)
}

// Alert severities.
const (
	SeverityLow      = "low"
	SeverityMedium   = "medium"
	SeverityHigh     = "high"
	SeverityCritical = "critical"
)

// Alert statuses.
const (
	StatusOpen         = "open"
	StatusAcknowledged = "acknowledged"
)

// Alert is raised by a rule. ID, Seq and everything up to Reason are
// deterministic (a replay from genesis raises the same alerts); Status and
// Ack are the operator's.
type Alert struct {
	ID       string    `json:"id"` // <height>-<n>
	Seq      uint64    `json:"seq"`
	Rule     string    `json:"rule"`
	Severity string    `json:"severity"`
	Height   int64     `json:"height"`
	Time     time.Time `json:"time"`
	Subject  string    `json:"subject"` // account, or org pair
	TxIDs    []string  `json:"tx_ids"`
	// TxIDsTotal is how many transactions the alert lists in all, where
	// an answer lists only the first of them (GET /v1/alerts?tx_ids=N).
	TxIDsTotal int    `json:"tx_ids_total,omitempty"`
	Reason     string `json:"reason"`
	Status     string `json:"status"`
	Ack        *Ack   `json:"ack,omitempty"`
}

// Ack is an acknowledgement of an alert.
type Ack struct {
	By   string    `json:"by"`
	Note string    `json:"note"`
	At   time.Time `json:"at"`
}

// AuditEntry records one request to the regulator's API. Prev, Hash,
// Signer and Sig chain it to the entry before and sign it (audit.go).
type AuditEntry struct {
	Seq    uint64    `json:"seq"`
	At     time.Time `json:"at"`
	Who    string    `json:"who"` // authenticated address, or "anonymous"
	Roles  []string  `json:"roles,omitempty"`
	Action string    `json:"action"`
	Target string    `json:"target"`
	Remote string    `json:"remote,omitempty"`
	Status int       `json:"status"`
	Detail string    `json:"detail,omitempty"`
	Prev   string    `json:"prev"`   // hex SM3 hash of entry seq−1 (seq 1: AuditGenesis)
	Hash   string    `json:"hash"`   // hex SM3 hash of this entry (AuditHash)
	Signer string    `json:"signer"` // hex SM2 public key of the observer that signed it
	Sig    string    `json:"sig"`    // hex SM2 signature of the hash
}

// Page is a page of a listing; NextCursor is empty on the last page.
type Page[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor,omitempty"`
}
