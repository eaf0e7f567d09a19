package evidence_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/medicbot/medic/internal/evidence"
	"github.com/medicbot/medic/internal/policy"
)

func TestAProbeRefusesARedirectToTheMetadataAddress(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		http.Redirect(w, r, "http://169.254.169.254/latest/meta-data/iam/security-credentials/", http.StatusFound)
	}))
	defer srv.Close()
	target := &evidence.Target{Alarm: anAlarm, Probe: &policy.Probe{URL: srv.URL + "/health", Method: "GET", ExpectStatus: 200, Timeout: time.Second}}
	start := time.Now()
	ev, err := evidence.NewProbe().Collect(context.Background(), target)
	if err != nil {
		t.Fatalf("collect: %v", err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("the probe took %s: did it try to reach 169.254.169.254?", took)
	}
	p := ev.Probe
	if len(p.Attempts) != evidence.ProbeAttempts || int(hits.Load()) != evidence.ProbeAttempts {
		t.Fatalf("%d attempts recorded, %d requests served; want %d of each", len(p.Attempts), hits.Load(), evidence.ProbeAttempts)
	}
	for i, a := range p.Attempts {
		if a.Status != http.StatusFound || !strings.Contains(a.Error, "169.254.169.254") || !strings.Contains(a.Error, "not followed") {
			t.Errorf("attempt %d = %+v, want the 302 itself, the redirect not followed", i+1, a)
		}
	}
	if p.OK != 0 {
		t.Errorf("%d attempts counted healthy, want 0", p.OK)
	}
}

func TestAProbeNeverConnectsToALinkLocalAddress(t *testing.T) {
	// The policy linter refuses this URL; the collector refuses it again,
	// and its dialer refuses link-local addresses whatever a name
	// resolves to.
	for _, url := range []string{"http://169.254.169.254/latest/meta-data/", "http://[fe80::1]/", "http://169.254.170.2/v2/credentials"} {
		target := &evidence.Target{Alarm: anAlarm, Probe: &policy.Probe{URL: url, Method: "GET", ExpectStatus: 200, Timeout: time.Second}}
		ev, err := evidence.NewProbe().Collect(context.Background(), target)
		if err != nil {
			t.Fatalf("collect %s: %v", url, err)
		}
		if a := ev.Probe.Attempts; len(a) != 1 || a[0].Status != 0 || !strings.Contains(a[0].Error, "refused") {
			t.Errorf("probe of %s = %+v, want one refused attempt", url, a)
		}
	}
	client := evidence.SafeClient()
	_, err := client.Get("http://169.254.169.254/")
	if err == nil || !strings.Contains(err.Error(), "link-local") {
		t.Errorf("SafeClient GET 169.254.169.254 = %v, want a refusal naming link-local", err)
	}
}

func TestAProbeRecordsStatusHeadersAndTimeToFirstByte(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/old" {
			http.Redirect(w, r, "/health", http.StatusMovedPermanently) // same host: followed
			return
		}
		w.Header().Set("Server", "awselb/2.0")
		w.Header().Set("X-Secret-Token", "do-not-keep")
		time.Sleep(20 * time.Millisecond)
		w.WriteHeader(http.StatusBadGateway)
	}))
	defer srv.Close()
	target := &evidence.Target{Alarm: anAlarm, Probe: &policy.Probe{URL: srv.URL + "/old", Method: "GET", ExpectStatus: 200, Timeout: time.Second}}
	ev, err := evidence.NewProbe().Collect(context.Background(), target)
	if err != nil {
		t.Fatalf("collect: %v", err)
	}
	p := ev.Probe
	for i, a := range p.Attempts {
		if a.Status != http.StatusBadGateway || a.TTFB < 20*time.Millisecond || a.Error != "" {
			t.Errorf("attempt %d = %+v, want 502 after at least 20ms", i+1, a)
		}
	}
	if len(p.Headers) != 1 || p.Headers[0].Name != "Server" || p.Headers[0].Value != "awselb/2.0" {
		t.Errorf("headers = %+v, want only Server: awselb/2.0", p.Headers)
	}
}

func TestUpstreamsAreProbedInParallel(t *testing.T) {
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(50 * time.Millisecond)
	}))
	defer slow.Close()
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(503) }))
	defer down.Close()
	target := &evidence.Target{Alarm: anAlarm, Upstreams: []policy.Upstream{{Name: "payments", URL: slow.URL}, {Name: "inventory", URL: down.URL}}}
	start := time.Now()
	ev, err := evidence.NewUpstreams().Collect(context.Background(), target)
	if err != nil {
		t.Fatalf("collect: %v", err)
	}
	if took := time.Since(start); took > 3*50*time.Millisecond+100*time.Millisecond {
		t.Errorf("took %s", took)
	}
	if len(ev.Upstreams) != 2 || ev.Upstreams[0].Name != "payments" || ev.Upstreams[0].OK != 3 || ev.Upstreams[1].OK != 0 || ev.Upstreams[1].Attempts[0].Status != 503 {
		t.Errorf("upstreams = %+v, want payments healthy 3 times and inventory 503", ev.Upstreams)
	}
}
