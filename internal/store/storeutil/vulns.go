package storeutil

// SeverityRank orders severities so that a group reports its highest.
func SeverityRank(s string) int {
	switch s {
	case "low":
		return 1
	case "medium":
		return 2
	case "high":
		return 3
	case "critical":
		return 4
	}
	return 0
}
