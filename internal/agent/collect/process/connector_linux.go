//go:build linux

package process

import (
	"encoding/binary"
	"fmt"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Kernel ABI of the process-events connector (linux/connector.h,
// linux/cn_proc.h).
const (
	cnIdxProc = 1
	cnValProc = 1

	procCnMcastListen = 1
	procCnMcastIgnore = 2

	procEventNone = 0x00000000
	procEventFork = 0x00000001
	procEventExec = 0x00000002
	procEventExit = 0x80000000

	nlHdrLen     = unix.SizeofNlMsghdr // 16
	cnMsgLen     = 20                  // cb_id{idx,val} seq ack len flags
	procEvHdrLen = 16                  // what cpu timestamp_ns
	subscribeSeq = 0x61697030          // "aip0"
	// subscribeAck goes in cn_msg.ack; the kernel answers with ack+1 (it
	// does not echo seq), which tells our acknowledgement from others'.
	subscribeAck = 0x61697030
)

// connector is a subscribed NETLINK_CONNECTOR socket, registered with the Go
// poller so a blocked read costs no CPU and Close wakes it.
type connector struct {
	f  *os.File
	rc syscall.RawConn
}

// openConnector subscribes to process events and waits for the kernel's
// acknowledgement: without CAP_NET_ADMIN the socket opens fine but the
// subscription is refused in the ack, and no event would ever arrive.
func openConnector() (*connector, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, unix.NETLINK_CONNECTOR)
	if err != nil {
		return nil, fmt.Errorf("open netlink connector: %w", err)
	}
	// A large buffer absorbs bursts (fork+exec+exit ≈ 3 messages per
	// start) while /proc is being read; FORCE needs CAP_NET_ADMIN, which
	// we need anyway, with a plain SO_RCVBUF as the fallback.
	if unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, 16<<20) != nil {
		_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, 16<<20)
	}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK, Groups: cnIdxProc}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("bind netlink connector: %w", err)
	}
	f := os.NewFile(uintptr(fd), "proc-connector")
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("netlink connector raw conn: %w", err)
	}
	c := &connector{f: f, rc: rc}
	if err := c.control(procCnMcastListen); err != nil {
		f.Close()
		return nil, err
	}
	if err := c.waitAck(time.Second); err != nil {
		f.Close()
		return nil, err
	}
	return c, nil
}

// control sends PROC_CN_MCAST_LISTEN or _IGNORE. The kernel only builds
// process events while at least one listener is subscribed, so Close
// unsubscribes.
func (c *connector) control(op uint32) error {
	msg := make([]byte, nlHdrLen+cnMsgLen+4)
	ne := binary.NativeEndian
	ne.PutUint32(msg[0:], uint32(len(msg)))
	ne.PutUint16(msg[4:], unix.NLMSG_DONE)
	ne.PutUint32(msg[8:], subscribeSeq)
	cn := msg[nlHdrLen:]
	ne.PutUint32(cn[0:], cnIdxProc)
	ne.PutUint32(cn[4:], cnValProc)
	ne.PutUint32(cn[12:], subscribeAck)
	ne.PutUint16(cn[16:], 4)
	ne.PutUint32(cn[cnMsgLen:], op)
	var serr error
	err := c.rc.Write(func(fd uintptr) bool {
		serr = unix.Sendto(int(fd), msg, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK})
		return serr != unix.EAGAIN
	})
	if err == nil {
		err = serr
	}
	if err != nil {
		return fmt.Errorf("send connector op %d: %w", op, err)
	}
	return nil
}

func (c *connector) waitAck(timeout time.Duration) error {
	if err := c.f.SetReadDeadline(time.Now().Add(timeout)); err != nil {
		return fmt.Errorf("connector deadline: %w", err)
	}
	defer c.f.SetReadDeadline(time.Time{})
	buf := make([]byte, 8192)
	for {
		n, err := c.recv(buf)
		if err != nil {
			return fmt.Errorf("wait for connector ack: %w", err)
		}
		var ackErr error
		found := false
		eachProcEvent(buf[:n], func(ack, what uint32, body []byte) {
			if what == procEventNone && ack == subscribeAck+1 && len(body) >= 4 {
				found = true
				if e := binary.NativeEndian.Uint32(body); e != 0 {
					ackErr = fmt.Errorf("connector subscription refused: %w", unix.Errno(e))
				}
			}
		})
		if found {
			return ackErr
		}
	}
}

func (c *connector) recv(buf []byte) (int, error) {
	var n int
	var rerr error
	err := c.rc.Read(func(fd uintptr) bool {
		n, _, rerr = unix.Recvfrom(int(fd), buf, 0)
		return rerr != unix.EAGAIN
	})
	if err != nil {
		return 0, err
	}
	return n, rerr
}

// Close unsubscribes and closes the socket, waking a blocked recv.
func (c *connector) Close() error {
	_ = c.control(procCnMcastIgnore)
	return c.f.Close()
}

// eachProcEvent calls fn for every proc_event in a netlink datagram with
// the cn_msg ack number, the event kind and the event_data union.
func eachProcEvent(b []byte, fn func(ack, what uint32, body []byte)) {
	ne := binary.NativeEndian
	for len(b) >= nlHdrLen {
		l := int(ne.Uint32(b[0:]))
		if l < nlHdrLen || l > len(b) {
			return
		}
		typ := ne.Uint16(b[4:])
		data := b[nlHdrLen:l]
		if typ != unix.NLMSG_ERROR && typ != unix.NLMSG_NOOP && len(data) >= cnMsgLen+procEvHdrLen &&
			ne.Uint32(data[0:]) == cnIdxProc && ne.Uint32(data[4:]) == cnValProc {
			ack := ne.Uint32(data[12:])
			ev := data[cnMsgLen:]
			fn(ack, ne.Uint32(ev[0:]), ev[procEvHdrLen:])
		}
		next := (l + unix.NLMSG_ALIGNTO - 1) &^ (unix.NLMSG_ALIGNTO - 1)
		if next >= len(b) {
			return
		}
		b = b[next:]
	}
}
