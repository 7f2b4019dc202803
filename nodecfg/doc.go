// Package nodecfg owns jinlian's node configuration (<home>/config/jinlian.toml):
// defaults, the file, JINLIAN_* environment variables and command-line flags,
// with the precedence flag > env > file > default, and validation with
// errors that name the key. Each key has one name everywhere: TOML
// `api.listen`, env `JINLIAN_API_LISTEN`, flag `--api.listen`.
//
// CometBFT's own settings stay in <home>/config/config.toml.
// It imports nothing of jinlian.
package nodecfg
