package process

import "fmt"

// TTYName turns the tty_nr field of /proc/PID/stat (a dev_t in the kernel's
// new_encode_dev layout) into the name audit uses ("pts/3", "tty1"). It
// returns nil when the process has no controlling terminal, because rules
// test `tty == null` to tell daemons from interactive sessions.
func TTYName(ttyNr int64) any {
	if ttyNr <= 0 {
		return nil
	}
	major := (ttyNr >> 8) & 0xfff
	minor := (ttyNr & 0xff) | ((ttyNr >> 12) & 0xfff00)
	switch {
	case major >= 136 && major <= 143: // Unix98 pty slaves
		return fmt.Sprintf("pts/%d", (major-136)*256+minor)
	case major == 4 && minor < 64:
		return fmt.Sprintf("tty%d", minor)
	case major == 4:
		return fmt.Sprintf("ttyS%d", minor-64)
	case major == 5 && minor == 0:
		return "tty"
	case major == 5 && minor == 1:
		return "console"
	case major == 5 && minor == 2:
		return "ptmx"
	default:
		// Some terminal we have no name for (USB serial, hvc, …): still a
		// terminal, so not nil.
		return fmt.Sprintf("tty(%d:%d)", major, minor)
	}
}
