package login

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"strings"

	"github.com/aipsec/aip/internal/agent/collect"
)

// utmpSize is the size of glibc's struct utmp on Linux x86_64 and arm64
// (both keep the 32-bit time fields of the on-disk format).
const utmpSize = 384

// utmp record types (utmp.h) the collector reports.
const (
	utUserProcess = 7
	utDeadProcess = 8
)

// utmpRecord is the part of one struct utmp the collector reports.
type utmpRecord struct {
	Type    int16
	PID     int32
	Line    string
	User    string
	Host    string
	Session int32
	Sec     int32
	Usec    int32
	Addr    [16]byte
}

// parseUtmp decodes one 384-byte record; the file is in host byte order.
func parseUtmp(b []byte) utmpRecord {
	le := binary.NativeEndian
	r := utmpRecord{
		Type:    int16(le.Uint16(b[0:])),
		PID:     int32(le.Uint32(b[4:])),
		Line:    cString(b[8:40]),
		User:    cString(b[44:76]),
		Host:    cString(b[76:332]),
		Session: int32(le.Uint32(b[336:])),
		Sec:     int32(le.Uint32(b[340:])),
		Usec:    int32(le.Uint32(b[344:])),
	}
	copy(r.Addr[:], b[348:364])
	return r
}

func cString(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return strings.TrimSpace(string(b))
}

// srcIP is the peer address: addr_v6 holds an IPv4 address in its first
// word (network order) when the other three are zero; an all-zero address
// falls back to the host field when that is an address.
func (r utmpRecord) srcIP() string {
	zero := [16]byte{}
	switch {
	case r.Addr == zero:
		if a, err := netip.ParseAddr(r.Host); err == nil {
			return a.String()
		}
		return ""
	case bytes.Equal(r.Addr[4:], zero[4:]):
		return netip.AddrFrom4([4]byte(r.Addr[:4])).String()
	default:
		return netip.AddrFrom16(r.Addr).Unmap().String()
	}
}

// utmpEvent maps a wtmp (failed=false) or btmp (failed=true) record to a
// login event; ok is false for records that are not logins or logouts
// (boot, run level, init and login-process records).
func utmpEvent(r utmpRecord, failed bool) (collect.Event, bool) {
	var kind string
	switch {
	case failed:
		kind = "failed"
	case r.Type == utUserProcess:
		kind = "login"
	case r.Type == utDeadProcess:
		kind = "logout"
	default:
		return nil, false
	}
	ev := collect.Event{
		"event_type": "login",
		"type":       kind,
		"pid":        int(r.PID),
		"session":    int(r.Session),
		"timestamp":  int64(r.Sec)*1000 + int64(r.Usec)/1000,
	}
	if r.User != "" {
		ev["user"] = r.User
	}
	if r.Line != "" {
		ev["tty"] = r.Line
	}
	if ip := r.srcIP(); ip != "" {
		ev["src_ip"] = ip
	}
	if r.Host != "" {
		ev["host"] = r.Host
	}
	return ev, true
}
