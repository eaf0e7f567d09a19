package policy

import (
	"fmt"
	"net/netip"
	"net/url"
	"strings"
	"time"
)

// Probe defaults and bounds.
const (
	DefaultProbeTimeout = 2 * time.Second
	MaxProbeTimeout     = 10 * time.Second
)

// ProbeURLProblem says what is wrong with a probe or upstream URL ("" when
// nothing): it must be http(s) with a host, and a literal address must not
// be one medic refuses to probe (BlockedProbeAddr).
func ProbeURLProblem(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Sprintf("must be an http(s) URL with a host, got %q", raw)
	}
	if u.User != nil {
		return "must not carry credentials"
	}
	if addr, err := netip.ParseAddr(strings.Trim(u.Hostname(), "[]")); err == nil {
		if why := BlockedProbeAddr(addr); why != "" {
			return fmt.Sprintf("must not point at %s (%s)", addr, why)
		}
	}
	return ""
}

// metadataAddrs are cloud instance-metadata endpoints outside the
// link-local range.
var metadataAddrs = []netip.Addr{
	netip.MustParseAddr("fd00:ec2::254"),   // EC2 over IPv6
	netip.MustParseAddr("100.100.100.200"), // Alibaba Cloud
}

// BlockedProbeAddr says why medic refuses to send a probe to addr, ""
// when it may: link-local addresses (169.254.0.0/16, which holds the EC2,
// ECS and Lambda metadata and credential endpoints, and fe80::/10),
// known metadata addresses, unspecified and multicast addresses.
func BlockedProbeAddr(addr netip.Addr) string {
	addr = addr.Unmap()
	switch {
	case addr.IsLinkLocalUnicast() || addr.IsLinkLocalMulticast():
		return "a link-local address, where instance metadata and credentials live"
	case addr.IsUnspecified():
		return "an unspecified address"
	case addr.IsMulticast():
		return "a multicast address"
	}
	for _, m := range metadataAddrs {
		if addr == m {
			return "a cloud metadata address"
		}
	}
	return ""
}

// probe validates and compiles a policy's probe block.
func (v *validator) probe(p fieldPath, rp *rawProbe) *Probe {
	if rp == nil {
		return nil
	}
	out := &Probe{URL: rp.URL, Method: strings.ToUpper(rp.Method), ExpectStatus: 200}
	if msg := ProbeURLProblem(rp.URL); msg != "" {
		v.add(p.key("url"), "%s", msg)
	}
	switch out.Method {
	case "":
		out.Method = "GET"
	case "GET", "HEAD":
	default:
		v.add(p.key("method"), "must be GET or HEAD (a probe changes nothing), got %q", rp.Method)
	}
	if rp.ExpectStatus != nil {
		out.ExpectStatus = *rp.ExpectStatus
		if out.ExpectStatus < 100 || out.ExpectStatus > 599 {
			v.add(p.key("expect_status"), "must be an HTTP status (100-599), got %d", out.ExpectStatus)
		}
	}
	out.Timeout = v.duration(p.key("timeout"), rp.Timeout, DefaultProbeTimeout)
	if out.Timeout <= 0 || out.Timeout > MaxProbeTimeout {
		v.add(p.key("timeout"), "must be more than 0s and at most %s, got %q", MaxProbeTimeout, rp.Timeout)
	}
	return out
}
