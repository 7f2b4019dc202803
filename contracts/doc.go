// Package contracts holds jinlian's native business contracts, one
// sub-package each (payments, custody, pvp, ...). A contract owns its keys
// inside the sub-ledger store it is handed; contracts never import each
// other and ask for what they need through small interfaces they declare
// themselves (custody and pvp pay through payments' Move as their Bank; the app
// hands them the payments keeper).
package contracts
