package postgres

import (
	"github.com/aipsec/aip"
)

var _ aip.EC2Store = (*DB)(nil)
