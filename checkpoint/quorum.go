package checkpoint

// HasQuorum is the quorum rule of jinlian's certificates and checkpoints:
// the signers hold more than 2/3 of the total voting power (CometBFT's
// rule). Powers are bounded by the app (MaxValidatorPower), so the products
// cannot overflow.
func HasQuorum(signed, total int64) bool { return total > 0 && signed*3 > total*2 }
