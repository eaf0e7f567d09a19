package evidence

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/netip"
	"syscall"
	"time"

	"github.com/medicbot/medic/internal/policy"
	"github.com/medicbot/medic/internal/store"
	"github.com/medicbot/medic/remediations"
)

// ProbeAttempts is how many requests one probe makes.
const ProbeAttempts = 3

// probeHeaders are the response headers a probe keeps: those that say who
// answered and why.
var probeHeaders = []string{"Server", "Content-Type", "Retry-After", "Location", "Via", "X-Cache", "X-Amzn-ErrorType", "X-Amzn-Trace-Id"}

// Probe is the reproduce collector: the policy's own HTTP probe, a few
// attempts, each with its status and time to first byte, and the headers
// that matter. It is SSRF-safe: it requests only the policy's URL, follows
// no redirect to another host, and never connects to a link-local or
// metadata address (policy.BlockedProbeAddr), whatever a name resolves to.
type Probe struct{ client *http.Client }

// NewProbe returns the reproduce collector.
func NewProbe() *Probe { return &Probe{client: SafeClient()} }

// Name is "probe".
func (*Probe) Name() string { return "probe" }

// IAM is nothing: a probe calls no AWS API.
func (*Probe) IAM() []remediations.IAMPermission { return nil }

// Collect probes t's probe URL.
func (p *Probe) Collect(ctx context.Context, t *Target) (*store.Evidence, error) {
	if t.Probe == nil {
		return nil, missingConfig("the policy has no probe")
	}
	r := probe(ctx, p.client, "", *t.Probe)
	return &store.Evidence{Probe: &r}, nil
}

// Upstreams is the upstreams collector: a GET of each dependency the
// policy names, expecting 200, with the same safety as Probe.
type Upstreams struct{ client *http.Client }

// NewUpstreams returns the upstreams collector.
func NewUpstreams() *Upstreams { return &Upstreams{client: SafeClient()} }

// Name is "upstreams".
func (*Upstreams) Name() string { return "upstreams" }

// IAM is nothing: a probe calls no AWS API.
func (*Upstreams) IAM() []remediations.IAMPermission { return nil }

// Collect probes every upstream of t in parallel.
func (u *Upstreams) Collect(ctx context.Context, t *Target) (*store.Evidence, error) {
	if len(t.Upstreams) == 0 {
		return nil, missingConfig("the policy names no upstreams")
	}
	out := make([]store.ProbeResult, len(t.Upstreams))
	done := make(chan struct{}, len(t.Upstreams))
	for i, up := range t.Upstreams {
		go func() {
			out[i] = probe(ctx, u.client, up.Name, policy.Probe{URL: up.URL, Method: http.MethodGet, ExpectStatus: http.StatusOK,
				Timeout: policy.DefaultProbeTimeout})
			done <- struct{}{}
		}()
	}
	for range t.Upstreams {
		<-done
	}
	return &store.Evidence{Upstreams: out}, nil
}

// probe makes ProbeAttempts requests of pr, one after the other, as long
// as ctx allows.
func probe(ctx context.Context, client *http.Client, name string, pr policy.Probe) store.ProbeResult {
	r := store.ProbeResult{Name: name, URL: pr.URL, Method: pr.Method, Expect: pr.ExpectStatus}
	if msg := policy.ProbeURLProblem(pr.URL); msg != "" {
		r.Attempts = append(r.Attempts, store.ProbeAttempt{Error: "refused: the URL " + msg})
		return r
	}
	for range ProbeAttempts {
		if ctx.Err() != nil {
			break
		}
		a, headers := attempt(ctx, client, pr)
		if a.Status == pr.ExpectStatus {
			r.OK++
		}
		if headers != nil {
			r.Headers = headers
		}
		r.Attempts = append(r.Attempts, a)
	}
	return r
}

func attempt(ctx context.Context, client *http.Client, pr policy.Probe) (store.ProbeAttempt, []store.Header) {
	ctx, cancel := context.WithTimeout(ctx, pr.Timeout)
	defer cancel()
	var first time.Time
	start := time.Now()
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{GotFirstResponseByte: func() { first = time.Now() }})
	req, err := http.NewRequestWithContext(ctx, pr.Method, pr.URL, nil)
	if err != nil {
		return store.ProbeAttempt{Error: "build request: " + err.Error()}, nil
	}
	req.Header.Set("User-Agent", "medic-probe/1")
	res, err := client.Do(req)
	if err != nil {
		return store.ProbeAttempt{Error: probeError(err)}, nil
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	a := store.ProbeAttempt{Status: res.StatusCode}
	if !first.IsZero() {
		a.TTFB = first.Sub(start)
	}
	if loc := res.Header.Get("Location"); res.StatusCode >= 300 && res.StatusCode < 400 && loc != "" {
		a.Error = "redirect to " + loc + " not followed (another host)"
	}
	var headers []store.Header
	for _, h := range probeHeaders {
		if v := res.Header.Get(h); v != "" {
			headers = append(headers, store.Header{Name: h, Value: v})
		}
	}
	return a, headers
}

// errBlocked is a connection medic refused to make.
var errBlocked = errors.New("refused")

func probeError(err error) string {
	switch {
	case errors.Is(err, errBlocked):
		var op *net.OpError
		if errors.As(err, &op) && op.Err != nil {
			return op.Err.Error()
		}
		return err.Error()
	case errors.Is(err, context.DeadlineExceeded):
		return "timed out"
	}
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return "cannot resolve " + dns.Name
	}
	return err.Error()
}

// maxProbeRedirects bounds redirects within one host.
const maxProbeRedirects = 3

// SafeClient is the HTTP client probes use: no proxy, no keep-alive, no
// redirect to another host (the redirect answer itself is the result),
// and a dialer that refuses link-local and metadata addresses after
// resolution (policy.BlockedProbeAddr), so no name can lead it there.
func SafeClient() *http.Client {
	dialer := &net.Dialer{Timeout: policy.MaxProbeTimeout, Control: func(_, address string, _ syscall.RawConn) error {
		host, _, err := net.SplitHostPort(address)
		if err != nil {
			return fmt.Errorf("%w: connect to %q: %v", errBlocked, address, err)
		}
		addr, err := netip.ParseAddr(host)
		if err != nil {
			return fmt.Errorf("%w: connect to %q: not an IP address", errBlocked, host)
		}
		if why := policy.BlockedProbeAddr(addr); why != "" {
			return fmt.Errorf("%w: connect to %s: %s", errBlocked, addr, why)
		}
		return nil
	}}
	return &http.Client{
		Transport: &http.Transport{Proxy: nil, DialContext: dialer.DialContext, DisableKeepAlives: true,
			TLSHandshakeTimeout: policy.MaxProbeTimeout, ResponseHeaderTimeout: policy.MaxProbeTimeout, MaxResponseHeaderBytes: 64 << 10},
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if req.URL.Host != via[0].URL.Host || req.URL.Scheme != via[0].URL.Scheme || len(via) > maxProbeRedirects {
				return http.ErrUseLastResponse
			}
			return nil
		},
	}
}
