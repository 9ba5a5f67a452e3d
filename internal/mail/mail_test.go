package mail

import (
	"context"
	"encoding/base64"
	"errors"
	"io"
	"mime"
	"mime/quotedprintable"
	"net"
	netmail "net/mail"
	"net/textproto"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// fakeSMTP is a minimal SMTP server on loopback: EHLO (no STARTTLS), AUTH
// PLAIN, MAIL, RCPT, DATA, QUIT. It records what clients sent.
type fakeSMTP struct {
	ln net.Listener
	// reject maps a command verb ("MAIL", "RCPT", "DATA", "AUTH", "EHLO",
	// "." for the end of data) to the reply that refuses it.
	reject map[string]string
	// stall makes the server accept connections and never answer.
	stall bool

	mu       sync.Mutex
	conns    int
	commands []string
	auth     []string // decoded AUTH PLAIN responses
	messages []string
	wg       sync.WaitGroup
	done     chan struct{}
}

func startFakeSMTP(t *testing.T, addr string, reject map[string]string, stall bool) *fakeSMTP {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	s := &fakeSMTP{ln: ln, reject: reject, stall: stall, done: make(chan struct{})}
	s.wg.Add(1)
	go s.serve()
	t.Cleanup(func() {
		close(s.done)
		ln.Close()
		s.wg.Wait()
	})
	return s
}

func (s *fakeSMTP) host() string { return s.ln.Addr().(*net.TCPAddr).IP.String() }
func (s *fakeSMTP) port() int    { return s.ln.Addr().(*net.TCPAddr).Port }

func (s *fakeSMTP) serve() {
	defer s.wg.Done()
	for {
		conn, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.conns++
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer conn.Close()
			if s.stall {
				// Hold the connection open until the client gives up or the
				// test ends, answering nothing.
				go func() { <-s.done; conn.Close() }()
				_, _ = io.Copy(io.Discard, conn)
				return
			}
			s.session(textproto.NewConn(conn))
		}()
	}
}

func (s *fakeSMTP) record(f func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f()
}

func (s *fakeSMTP) session(c *textproto.Conn) {
	reply := func(line string) bool { return c.PrintfLine("%s", line) == nil }
	if !reply("220 fake.test ESMTP ready") {
		return
	}
	for {
		line, err := c.ReadLine()
		if err != nil {
			return
		}
		verb, arg, _ := strings.Cut(line, " ")
		verb = strings.ToUpper(verb)
		s.record(func() { s.commands = append(s.commands, verb) })
		if r, ok := s.reject[verb]; ok {
			if !reply(r) {
				return
			}
			continue
		}
		switch verb {
		case "EHLO":
			if !reply("250-fake.test greets you") || !reply("250-8BITMIME") || !reply("250 AUTH PLAIN") {
				return
			}
		case "AUTH":
			mech, resp, _ := strings.Cut(arg, " ")
			raw, err := base64.StdEncoding.DecodeString(resp)
			if mech != "PLAIN" || err != nil {
				reply("501 bad AUTH")
				continue
			}
			s.record(func() { s.auth = append(s.auth, string(raw)) })
			reply("235 2.7.0 authenticated")
		case "MAIL", "RCPT", "RSET", "NOOP":
			reply("250 2.1.0 ok")
		case "DATA":
			if !reply("354 end with <CRLF>.<CRLF>") {
				return
			}
			data, err := io.ReadAll(c.DotReader())
			if err != nil {
				return
			}
			s.record(func() { s.messages = append(s.messages, string(data)) })
			if r, ok := s.reject["."]; ok {
				reply(r)
				continue
			}
			reply("250 2.0.0 queued")
		case "QUIT":
			reply("221 2.0.0 bye")
			return
		default:
			reply("502 5.5.2 command not recognized")
		}
	}
}

func (s *fakeSMTP) snapshot() (conns int, commands, auth, messages []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conns, append([]string(nil), s.commands...), append([]string(nil), s.auth...), append([]string(nil), s.messages...)
}

func newMailer(t *testing.T, s *fakeSMTP, username string) *SMTP {
	t.Helper()
	m, err := NewSMTP(Config{Host: s.host(), Port: s.port(), Username: username, Password: "s3cret pass", From: "aip <aip@example.test>"})
	if err != nil {
		t.Fatalf("NewSMTP: %v", err)
	}
	return m
}

func TestSendDeliversMessage(t *testing.T) {
	s := startFakeSMTP(t, "127.0.0.1:0", nil, false)
	m := newMailer(t, s, "")
	body := "Hello,\n\nyou are invited to organization 0123.\n.a line starting with a dot\nGrüße, " + strings.Repeat("x", 1200) + "\n"
	if err := m.Send(context.Background(), "bob@example.test", "Your aip invitation – welcome", body); err != nil {
		t.Fatalf("Send: %v", err)
	}
	_, commands, auth, messages := s.snapshot()
	if diff := cmp.Diff([]string{"EHLO", "MAIL", "RCPT", "DATA", "QUIT"}, commands); diff != "" {
		t.Errorf("commands (-want +got):\n%s", diff)
	}
	if len(auth) != 0 {
		t.Errorf("AUTH sent without a username: %q", auth)
	}
	if len(messages) != 1 {
		t.Fatalf("got %d messages, want 1", len(messages))
	}
	raw := messages[0]
	for i, line := range strings.Split(strings.TrimSuffix(raw, "\n"), "\n") {
		if len(line) > 998 {
			t.Errorf("line %d is %d bytes long, beyond SMTP's 998", i, len(line))
		}
	}
	msg, err := netmail.ReadMessage(strings.NewReader(raw))
	if err != nil {
		t.Fatalf("parse received message: %v", err)
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		t.Fatalf("decode subject: %v", err)
	}
	gotHeaders := map[string]string{
		"From":                      msg.Header.Get("From"),
		"To":                        msg.Header.Get("To"),
		"Subject":                   subject,
		"MIME-Version":              msg.Header.Get("MIME-Version"),
		"Content-Type":              msg.Header.Get("Content-Type"),
		"Content-Transfer-Encoding": msg.Header.Get("Content-Transfer-Encoding"),
	}
	wantHeaders := map[string]string{
		"From":                      `"aip" <aip@example.test>`,
		"To":                        "<bob@example.test>",
		"Subject":                   "Your aip invitation – welcome",
		"MIME-Version":              "1.0",
		"Content-Type":              "text/plain; charset=utf-8",
		"Content-Transfer-Encoding": "quoted-printable",
	}
	if diff := cmp.Diff(wantHeaders, gotHeaders); diff != "" {
		t.Errorf("headers (-want +got):\n%s", diff)
	}
	if _, err := msg.Header.Date(); err != nil {
		t.Errorf("Date header: %v", err)
	}
	if id := msg.Header.Get("Message-ID"); !strings.HasPrefix(id, "<") || !strings.HasSuffix(id, "@example.test>") {
		t.Errorf("Message-ID = %q, want <…@example.test>", id)
	}
	decoded, err := io.ReadAll(quotedprintable.NewReader(msg.Body))
	if err != nil {
		t.Fatalf("decode body: %v", err)
	}
	// The fake server's DotReader turns the wire's CRLF back into LF.
	if diff := cmp.Diff(body, string(decoded)); diff != "" {
		t.Errorf("body (-want +got):\n%s", diff)
	}
}

func TestSendAuthenticates(t *testing.T) {
	s := startFakeSMTP(t, "127.0.0.1:0", nil, false)
	m := newMailer(t, s, "mailer")
	if err := m.Send(context.Background(), "bob@example.test", "hi", "body"); err != nil {
		t.Fatalf("Send: %v", err)
	}
	_, commands, auth, messages := s.snapshot()
	if diff := cmp.Diff([]string{"EHLO", "AUTH", "MAIL", "RCPT", "DATA", "QUIT"}, commands); diff != "" {
		t.Errorf("commands (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"\x00mailer\x00s3cret pass"}, auth); diff != "" {
		t.Errorf("AUTH PLAIN (-want +got):\n%s", diff)
	}
	if len(messages) != 1 {
		t.Errorf("got %d messages, want 1", len(messages))
	}
}

func TestSendRefusesPasswordWithoutTLSToRemoteHost(t *testing.T) {
	// 127.0.0.2 is loopback on Linux, yet not a name net/smtp treats as
	// localhost: it stands for a remote server without STARTTLS.
	ln, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Skipf("cannot listen on 127.0.0.2 here: %v", err)
	}
	ln.Close()
	s := startFakeSMTP(t, "127.0.0.2:0", nil, false)
	m := newMailer(t, s, "mailer")
	err = m.Send(context.Background(), "bob@example.test", "hi", "body")
	if err == nil || !strings.Contains(err.Error(), "refusing to send the password") {
		t.Fatalf("Send error = %v, want a refusal to send the password unencrypted", err)
	}
	if strings.Contains(err.Error(), "s3cret") {
		t.Errorf("error %q contains the password", err)
	}
	_, commands, auth, _ := s.snapshot()
	if len(auth) != 0 || cmp.Diff([]string{"EHLO"}, commands) != "" {
		t.Errorf("server saw commands %q and AUTH %q, want EHLO only", commands, auth)
	}
}

func TestSendRejectsHeaderInjection(t *testing.T) {
	s := startFakeSMTP(t, "127.0.0.1:0", nil, false)
	m := newMailer(t, s, "")
	tests := []struct {
		name, to, subject string
	}{
		{"rejects CRLF in recipient", "bob@example.test\r\nBcc: eve@example.test", "hi"},
		{"rejects LF in recipient", "bob@example.test\nBcc: eve@example.test", "hi"},
		{"rejects CR in subject", "bob@example.test", "hi\rBcc: eve@example.test"},
		{"rejects CRLF in subject", "bob@example.test", "hi\r\nBcc: eve@example.test"},
		{"rejects a recipient that is no address", "not an address", "hi"},
		{"rejects two recipients", "bob@example.test, eve@example.test", "hi"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := m.Send(context.Background(), tt.to, tt.subject, "body"); err == nil {
				t.Fatal("Send succeeded, want an error")
			}
		})
	}
	if conns, _, _, _ := s.snapshot(); conns != 0 {
		t.Errorf("server got %d connections, want none for rejected input", conns)
	}
}

func TestNewSMTPValidatesConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
	}{
		{"rejects a missing host", Config{From: "aip@example.test"}},
		{"rejects a missing from", Config{Host: "127.0.0.1"}},
		{"rejects a from with a line break", Config{Host: "127.0.0.1", From: "aip@example.test\r\nBcc: eve@example.test"}},
		{"rejects a from that is no address", Config{Host: "127.0.0.1", From: "aip"}},
		{"rejects a port out of range", Config{Host: "127.0.0.1", Port: 70000, From: "aip@example.test"}},
		{"rejects a username with a line break", Config{Host: "127.0.0.1", Username: "a\r\nQUIT", From: "aip@example.test"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewSMTP(tt.cfg); err == nil {
				t.Fatal("NewSMTP succeeded, want an error")
			}
		})
	}
	t.Run("defaults the port to 587", func(t *testing.T) {
		m, err := NewSMTP(Config{Host: "mail.example.test", From: "aip@example.test"})
		if err != nil {
			t.Fatalf("NewSMTP: %v", err)
		}
		if m.cfg.Port != 587 {
			t.Errorf("port = %d, want 587", m.cfg.Port)
		}
	})
}

func TestSendSurfacesServerErrors(t *testing.T) {
	tests := []struct {
		name     string
		reject   map[string]string
		username string
		want     []string // substrings of the error
	}{
		{"reports a refused EHLO and HELO", map[string]string{"EHLO": "554 5.7.1 go away", "HELO": "554 5.7.1 go away"}, "", []string{"EHLO", "554", "go away"}},
		{"reports a refused login", map[string]string{"AUTH": "535 5.7.8 bad credentials"}, "mailer", []string{"authenticate as mailer", "535", "bad credentials"}},
		{"reports a refused sender", map[string]string{"MAIL": "550 5.7.1 sender not allowed"}, "", []string{"MAIL FROM", "550", "sender not allowed"}},
		{"reports a refused recipient", map[string]string{"RCPT": "550 5.1.1 no such user"}, "", []string{"RCPT TO", "550", "no such user"}},
		{"reports a refused DATA", map[string]string{"DATA": "451 4.3.0 try later"}, "", []string{"DATA", "451", "try later"}},
		{"reports a refused message", map[string]string{".": "554 5.6.0 message rejected"}, "", []string{"message refused", "554", "message rejected"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := startFakeSMTP(t, "127.0.0.1:0", tt.reject, false)
			m := newMailer(t, s, tt.username)
			err := m.Send(context.Background(), "bob@example.test", "hi", "body")
			if err == nil {
				t.Fatal("Send succeeded, want an error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			if !strings.Contains(err.Error(), net.JoinHostPort(s.host(), strconv.Itoa(s.port()))) {
				t.Errorf("error %q does not name the server", err)
			}
			var tpErr *textproto.Error
			if !errors.As(err, &tpErr) {
				t.Errorf("error %q does not wrap the server's *textproto.Error", err)
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Errorf("error %q contains the password", err)
			}
		})
	}
}

func TestSendGivesUpOnStalledServer(t *testing.T) {
	tests := []struct {
		name string
		ctx  func() (context.Context, context.CancelFunc)
		want error
	}{
		{"stops at the context deadline", func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 200*time.Millisecond)
		}, context.DeadlineExceeded},
		{"stops when the context is canceled", func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(200*time.Millisecond, cancel)
			return ctx, cancel
		}, context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := startFakeSMTP(t, "127.0.0.1:0", nil, true)
			m := newMailer(t, s, "")
			ctx, cancel := tt.ctx()
			defer cancel()
			errc := make(chan error, 1)
			go func() { errc <- m.Send(ctx, "bob@example.test", "hi", "body") }()
			select {
			case err := <-errc:
				if !errors.Is(err, tt.want) {
					t.Fatalf("Send error = %v, want one wrapping %v", err, tt.want)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("Send still blocked on a stalled server long after its context ended")
			}
		})
	}
}

func TestSendReportsUnreachableServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().(*net.TCPAddr)
	ln.Close()
	m, err := NewSMTP(Config{Host: "127.0.0.1", Port: addr.Port, From: "aip@example.test"})
	if err != nil {
		t.Fatal(err)
	}
	err = m.Send(context.Background(), "bob@example.test", "hi", "body")
	if err == nil || !strings.Contains(err.Error(), "dial "+addr.String()) {
		t.Fatalf("Send error = %v, want a dial error naming %s", err, addr)
	}
}
