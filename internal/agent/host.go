package agent

import (
	"bufio"
	"net"
	"net/netip"
	"os"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/aipsec/aip"
)

// Version is the agent's version, reported in heartbeats and events.
const Version = "1.0.0"

// osRelease reads the ID and VERSION_ID of /etc/os-release (or the file
// at path), the way the inventory and the osVersion field name them.
func osRelease(path string) (id, versionID string) {
	f, err := os.Open(path)
	if err != nil {
		return "", ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), "=")
		if !ok {
			continue
		}
		v = strings.Trim(v, `"'`)
		switch k {
		case "ID":
			id = v
		case "VERSION_ID":
			versionID = v
		}
	}
	return id, versionID
}

// kernelRelease is uname -r.
func kernelRelease() string {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return ""
	}
	return unix.ByteSliceToString(u.Release[:])
}

// ipAddresses lists the host's addresses by kind, loopback left out.
func ipAddresses() aip.IPAddresses {
	out := aip.IPAddresses{Private: []string{}, Public: []string{}, LinkLocal: []string{}}
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return out
	}
	for _, a := range addrs {
		p, err := netip.ParsePrefix(a.String())
		if err != nil {
			continue
		}
		ip := p.Addr().Unmap()
		switch {
		case ip.IsLoopback() || ip.IsUnspecified():
		case ip.IsLinkLocalUnicast():
			out.LinkLocal = append(out.LinkLocal, ip.String())
		case ip.IsPrivate():
			out.Private = append(out.Private, ip.String())
		default:
			out.Public = append(out.Public, ip.String())
		}
	}
	return out
}

// hostInfo is what heartbeats and enrollment report about the host.
func hostInfo(hostname string, tags []aip.Tag) aip.AgentHost {
	if hostname == "" {
		hostname, _ = os.Hostname()
	}
	id, ver := osRelease("/etc/os-release")
	osVersion := id
	if ver != "" {
		osVersion += "-" + ver
	}
	if tags == nil {
		tags = []aip.Tag{}
	}
	return aip.AgentHost{
		Hostname: hostname, IPAddresses: ipAddresses(), OSVersion: osVersion, Kernel: kernelRelease(),
		Version: Version, AgentType: aip.AgentTypeMonitor, Tags: tags,
	}
}
