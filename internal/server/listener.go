package server

import (
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// shedResponse is what a connection beyond the limit is told before it is
// closed.
var shedResponse = func() []byte {
	const body = "medic: too many connections; retry later\n"
	return fmt.Appendf(nil, "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n"+
		"Connection: close\r\nRetry-After: 1\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
}()

// shedWriteTimeout bounds the write of shedResponse, so that a client that
// does not read cannot stall the accept loop.
const shedWriteTimeout = 100 * time.Millisecond

// limitListener holds at most cap(sem) accepted connections open at once.
// Beyond that it sheds: a new connection is told 503 and closed at once,
// rather than left waiting in the kernel's backlog behind clients that hold
// their connections.
type limitListener struct {
	net.Listener
	sem    chan struct{}
	onShed func()
	shed   atomic.Int64
}

func newLimitListener(ln net.Listener, maxConns int, onShed func()) *limitListener {
	if onShed == nil {
		onShed = func() {}
	}
	return &limitListener{Listener: ln, sem: make(chan struct{}, maxConns), onShed: onShed}
}

// Accept returns the next connection that fits under the limit, shedding
// every one that does not.
func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		select {
		case l.sem <- struct{}{}:
			return &limitedConn{Conn: c, release: func() { <-l.sem }}, nil
		default:
			l.shed.Add(1)
			_ = c.SetWriteDeadline(time.Now().Add(shedWriteTimeout))
			_, _ = c.Write(shedResponse)
			_ = c.Close()
			l.onShed()
		}
	}
}

// open is how many accepted connections are open now.
func (l *limitListener) open() int { return len(l.sem) }

// limitedConn gives its place back to the listener when closed.
type limitedConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}
