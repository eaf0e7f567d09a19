package maintpage

import (
	"bytes"
	"context"
	"flag"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

var updateScreenshot = flag.Bool("update-screenshot", false, "write the browser's screenshot of the maintenance page to docs/maintenance-page.png (shown in the README)")

// chromium returns a headless-capable Chromium: on PATH, or else installed
// by `make browser` (Debian's package). Where it cannot be installed the
// test is skipped saying why, except in CI (CI=true), where it fails.
func chromium(t *testing.T) string {
	t.Helper()
	find := func() string {
		for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
			if p, err := exec.LookPath(name); err == nil {
				return p
			}
		}
		return ""
	}
	if p := find(); p != "" {
		return p
	}
	cmd := exec.Command("make", "browser")
	cmd.Dir = filepath.Join("..", "..")
	out, err := cmd.CombinedOutput()
	if p := find(); p != "" {
		return p
	}
	msg := "no Chromium on PATH and `make browser` could not install Debian's chromium package"
	if err != nil {
		msg += " (" + err.Error() + "): " + strings.TrimSpace(string(out))
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s; the browser test must run in CI", msg)
	}
	t.Skipf("%s; skipping the browser test", msg)
	return ""
}

// runChromium runs a headless Chromium with a fresh profile and args.
func runChromium(t *testing.T, bin string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
		"--hide-scrollbars", "--user-data-dir=" + t.TempDir()}
	cmd := exec.CommandContext(ctx, bin, append(base, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.Bytes()
}

// seen records what the server sent to the browser's page requests.
type seen struct {
	mu      sync.Mutex
	status  int
	headers http.Header
	n       int
}

type recorder struct {
	http.ResponseWriter
	s *seen
}

func (r recorder) WriteHeader(code int) {
	r.s.mu.Lock()
	r.s.status, r.s.headers, r.s.n = code, r.Header().Clone(), r.s.n+1
	r.s.mu.Unlock()
	r.ResponseWriter.WriteHeader(code)
}

// TestAVisitorSeesTheMaintenancePageInARealBrowser loads the maintenance
// page, as the function serves it for a rule's url-rewritten path, in
// headless Chromium: the browser gets 503 with Retry-After and no-store,
// and the page it renders shows the rule's message and when to come back.
func TestAVisitorSeesTheMaintenancePageInARealBrowser(t *testing.T) {
	bin := chromium(t)
	s := &seen{}
	h := New(Defaults{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/favicon.ico" {
			http.NotFound(w, r)
			return
		}
		h.ServeHTTP(recorder{w, s}, r)
	}))
	defer srv.Close()
	enc, err := Encode(Config{Message: "Checkout is being upgraded. Your basket is safe.", RetryAfter: 600})
	if err != nil {
		t.Fatal(err)
	}
	url := srv.URL + PathPrefix + enc + "/cart"

	dom := string(runChromium(t, bin, "--virtual-time-budget=2000", "--dump-dom", url))
	s.mu.Lock()
	status, headers, n := s.status, s.headers, s.n
	s.mu.Unlock()
	if n == 0 {
		t.Fatal("the browser never asked the server for the page")
	}
	if status != http.StatusServiceUnavailable || headers.Get("Retry-After") != "600" || headers.Get("Cache-Control") != "no-store" ||
		!strings.HasPrefix(headers.Get("Content-Type"), "text/html") {
		t.Errorf("the browser got %d %v, want 503 with Retry-After 600, no-store, HTML", status, headers)
	}
	for _, want := range []string{
		"<title>Down for maintenance</title>",
		"<h1>Down for maintenance</h1>",
		`<p class="message">Checkout is being upgraded. Your basket is safe.</p>`,
		"Please try again in 10 minutes.",
	} {
		if !strings.Contains(dom, want) {
			t.Errorf("the rendered page lacks %q; the browser's DOM:\n%s", want, dom)
		}
	}

	shot := filepath.Join(t.TempDir(), "page.png")
	runChromium(t, bin, "--window-size=900,520", "--screenshot="+shot, url)
	raw, err := os.ReadFile(shot)
	if err != nil {
		t.Fatalf("the browser wrote no screenshot: %v", err)
	}
	img, err := png.Decode(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("screenshot is not a PNG: %v", err)
	}
	if b := img.Bounds(); b.Dx() != 900 || b.Dy() != 520 {
		t.Errorf("screenshot is %dx%d, want 900x520", b.Dx(), b.Dy())
	}
	// The card is white on a grey page: a blank or failed render has one
	// colour only.
	if c := img.At(450, 260); c == img.At(5, 5) {
		t.Errorf("the screenshot's centre and corner have the same colour %v: the page did not render", c)
	}
	if *updateScreenshot {
		dst := filepath.Join("..", "..", "docs", "maintenance-page.png")
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, raw, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
