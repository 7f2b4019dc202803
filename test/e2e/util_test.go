package e2e

import (
	"strconv"

	cfg "github.com/cometbft/cometbft/config"
)

type cfgConfig = cfg.Config

func itoa(i int) string { return strconv.Itoa(i) }
