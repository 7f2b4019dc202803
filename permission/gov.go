package permission

import (
	"encoding/binary"

	"github.com/jinlian-ledger/jinlian/internal/errs"
	"github.com/jinlian-ledger/jinlian/ledger"
)

// Governance errors.
var (
	ErrNoProposal   = errs.Register(codespace, 7, "unknown proposal")
	ErrVotingClosed = errs.Register(codespace, 8, "voting closed")
	ErrDoubleVote   = errs.Register(codespace, 9, "already voted")
)

// Proposal statuses.
const (
	StatusVoting   = "voting"
	StatusPassed   = "passed"   // executed in the block that passed it
	StatusFailed   = "failed"   // passed, but its execution failed; nothing changed
	StatusRejected = "rejected" // could no longer pass, or the voting period ended
)

// Proposal is a governance proposal and its votes.
type Proposal struct {
	ID           uint64      `json:"id"`
	Type         string      `json:"type"`
	Title        string      `json:"title,omitempty"`
	Action       []byte      `json:"action"` // the encoded Propose message
	Proposer     string      `json:"proposer"`
	ProposerOrg  string      `json:"proposer_org"`
	SubmitHeight int64       `json:"submit_height"`
	EndHeight    int64       `json:"end_height"` // last height at which votes count
	Votes        []VoteEntry `json:"votes"`
	Status       string      `json:"status"`
	Result       string      `json:"result,omitempty"`
}

// VoteEntry is one organisation's vote.
type VoteEntry struct {
	Org    string `json:"org"`
	Voter  string `json:"voter"`
	Yes    bool   `json:"yes"`
	Height int64  `json:"height"`
	// Regulator marks a hold vote cast by a regulator identity.
	Regulator bool `json:"regulator,omitempty"`
}

// Tally counts yes and no votes.
func (p Proposal) Tally() (yes, no int) {
	for _, v := range p.Votes {
		if v.Yes {
			yes++
		} else {
			no++
		}
	}
	return yes, no
}

func proposalKey(id uint64) []byte { return binary.BigEndian.AppendUint64([]byte("gov/p/"), id) }

func endKey(h int64, id uint64) []byte {
	return binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint64([]byte("gov/end/"), uint64(h)), id)
}

var keyNextProposal = []byte("meta/next_proposal")

// NewProposal stores p under a fresh id, indexed by its end height.
func NewProposal(kv ledger.KV, p Proposal) (uint64, error) {
	id, err := nextID(kv, keyNextProposal)
	if err != nil {
		return 0, err
	}
	p.ID = id
	if err := SaveProposal(kv, p); err != nil {
		return 0, err
	}
	return id, kv.Set(SystemLedger, endKey(p.EndHeight, id), []byte{1})
}

// SaveProposal overwrites a proposal; a closed one leaves the end index.
func SaveProposal(kv ledger.KV, p Proposal) error {
	b, err := ledger.Encode(p)
	if err != nil {
		return err
	}
	if err := kv.Set(SystemLedger, proposalKey(p.ID), b); err != nil {
		return err
	}
	if p.Status != StatusVoting {
		return kv.Delete(SystemLedger, endKey(p.EndHeight, p.ID))
	}
	return nil
}

// GetProposal loads a proposal; ErrNoProposal names the id if absent.
func GetProposal(kv Reader, id uint64) (Proposal, error) {
	var p Proposal
	b, err := kv.Get(SystemLedger, proposalKey(id))
	if err != nil {
		return p, err
	}
	if b == nil {
		return p, ErrNoProposal.Wrapf("proposal %d", id)
	}
	return p, ledger.Decode(b, &p)
}

// Proposals lists every proposal in id order.
func Proposals(kv Reader) ([]Proposal, error) { return list[Proposal](kv, "gov/p/") }

// ExpiredProposals returns the ids of open proposals whose voting period
// ended before height, in (end height, id) order.
func ExpiredProposals(kv Reader, height int64) ([]uint64, error) {
	var ids []uint64
	end := binary.BigEndian.AppendUint64([]byte("gov/end/"), uint64(height))
	err := kv.Iterate(SystemLedger, []byte("gov/end/"), end, func(k, _ []byte) bool {
		ids = append(ids, binary.BigEndian.Uint64(k[len(k)-8:]))
		return true
	})
	return ids, err
}

// CommitteeOrgs counts the organisations with a committee member: the
// electorate whose share a proposal's threshold is measured against.
func CommitteeOrgs(kv Reader) (int64, error) {
	ids, err := Identities(kv)
	if err != nil {
		return 0, err
	}
	orgs := map[string]bool{}
	for _, id := range ids {
		if holds(id.Roles, RoleCommittee, "") {
			orgs[id.Org] = true
		}
	}
	return int64(len(orgs)), nil
}
