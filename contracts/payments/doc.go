// Package payments is the multi-asset payments contract: assets with an
// issuer organisation, balances per (asset, account) on a sub-ledger, issue,
// transfer and burn, Move (a transfer checked for amount, asset, payee and
// balance but not for the sender's rights, which other contracts pay with:
// custody), the asset lifecycle (created and changed by governance:
// supply cap, pause, issuer; docs/assets.md), redemption to the issuer, and
// the supply invariant
//
//	per asset: sum of balances + pending redemptions == issued − burned
//
// State layout inside a sub-ledger's tree (all big-endian):
//
//	a/<symbol>                    → asset record
//	b/<len(symbol)><symbol><addr> → balance, 8 bytes, then ‖ completeness
//	                                commitment (48: SM3 chain ‖ movements (8)
//	                                ‖ balance after the last (8)) once the
//	                                account moved or was funded in the genesis
//	                                (package movement; commitment.go); a zero
//	                                balance with a commitment is kept
//	s/<symbol>                    → issued (8) ‖ burned (8), then
//	                                ‖ pending (8) ‖ next redemption id (8)
//	                                once the asset had a redemption
//	r/<len(symbol)><symbol><id>   → queued redemption record (id 8 bytes)
//
// It imports ledger, movement, permission (through the Authorizer it
// declares) and gmcrypto of jinlian; it reads no clock and iterates no Go map.
package payments
