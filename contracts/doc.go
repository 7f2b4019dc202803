// Package contracts holds jinlian's native business contracts, one
// sub-package each (payments, custody, ...). A contract owns its keys
// inside the sub-ledger store it is handed; contracts never import each
// other and ask for what they need through small interfaces they declare
// themselves (custody pays through payments' Move as its Bank; the app
// hands it the payments keeper).
package contracts
