// Package mail sends aipd's emails (invites) through an SMTP server.
package mail

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net"
	netmail "net/mail"
	"net/smtp"
	"os"
	"strconv"
	"strings"
	"time"
)

// Config is how to reach the SMTP server. Password is a secret: it is never
// logged or returned in errors.
type Config struct {
	Host     string
	Port     int // 587 when zero
	Username string
	Password string
	From     string
}

// defaultTimeout bounds a Send whose context has no deadline, so a stalled
// server cannot hold a goroutine forever.
const defaultTimeout = time.Minute

// SMTP sends mail through one SMTP server, using STARTTLS whenever the
// server offers it and authenticating (AUTH PLAIN) when a username is set.
// The password is only ever sent over TLS or to localhost.
type SMTP struct {
	cfg  Config
	from *netmail.Address
}

// NewSMTP checks cfg and returns a mailer.
func NewSMTP(cfg Config) (*SMTP, error) {
	if cfg.Host == "" || cfg.From == "" {
		return nil, errors.New("smtp: host and from address are required")
	}
	if strings.ContainsAny(cfg.Host, "\r\n") || strings.ContainsAny(cfg.Username, "\r\n") {
		return nil, errors.New("smtp: host and username must not contain line breaks")
	}
	if cfg.Port == 0 {
		cfg.Port = 587
	}
	if cfg.Port < 0 || cfg.Port > 65535 {
		return nil, fmt.Errorf("smtp: port %d is out of range", cfg.Port)
	}
	from, err := parseAddress(cfg.From)
	if err != nil {
		return nil, fmt.Errorf("smtp: from address: %w", err)
	}
	return &SMTP{cfg: cfg, from: from}, nil
}

// parseAddress accepts "a@example.com" or "Name <a@example.com>", without
// line breaks, which would let a value inject headers or SMTP commands.
func parseAddress(s string) (*netmail.Address, error) {
	if strings.ContainsAny(s, "\r\n") {
		return nil, errors.New("address must not contain line breaks")
	}
	a, err := netmail.ParseAddress(s)
	if err != nil {
		return nil, fmt.Errorf("%q is not an email address: %w", s, err)
	}
	return a, nil
}

// isLocalhost is net/smtp's rule for sending PLAIN credentials without TLS.
func isLocalhost(host string) bool {
	return host == "localhost" || host == "127.0.0.1" || host == "::1"
}

// Send delivers one plain-text message to a single recipient. It gives up
// when ctx is done (or after a minute when ctx has no deadline). Errors name
// the SMTP stage that failed and carry the server's reply.
func (m *SMTP) Send(ctx context.Context, to, subject, body string) error {
	rcpt, msg, err := m.build(to, subject, body)
	if err != nil {
		return err
	}

	addr := net.JoinHostPort(m.cfg.Host, strconv.Itoa(m.cfg.Port))
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, defaultTimeout)
		defer cancel()
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("smtp: dial %s: %w", addr, err)
	}
	// net/smtp knows no contexts: the deadline bounds every read and write,
	// and cancellation before it expires moves the deadline to now.
	deadline, _ := ctx.Deadline()
	_ = conn.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	fail := func(stage string, err error) error {
		if errors.Is(err, os.ErrDeadlineExceeded) {
			// The connection's deadline is ctx's, so ctx ends now too (its
			// timer may trail the socket's by a moment): report it as such.
			<-ctx.Done()
		}
		if cerr := ctx.Err(); cerr != nil {
			return fmt.Errorf("smtp: %s %s: %w: %w", stage, addr, cerr, err)
		}
		return fmt.Errorf("smtp: %s %s: %w", stage, addr, err)
	}
	c, err := smtp.NewClient(conn, m.cfg.Host)
	if err != nil {
		conn.Close()
		return fail("greeting from", err)
	}
	defer c.Close()
	// An explicit EHLO, because Extension would hide its failure.
	if err := c.Hello("localhost"); err != nil {
		return fail("EHLO refused by", err)
	}
	encrypted := false
	if ok, _ := c.Extension("STARTTLS"); ok {
		if err := c.StartTLS(tlsConfig(m.cfg.Host)); err != nil {
			return fail("STARTTLS with", err)
		}
		encrypted = true
	}
	if m.cfg.Username != "" {
		if !encrypted && !isLocalhost(m.cfg.Host) {
			return fmt.Errorf("smtp: %s offers no STARTTLS; refusing to send the password of %s unencrypted", addr, m.cfg.Username)
		}
		if err := c.Auth(smtp.PlainAuth("", m.cfg.Username, m.cfg.Password, m.cfg.Host)); err != nil {
			return fail("authenticate as "+m.cfg.Username+" at", err)
		}
	}
	if err := c.Mail(m.from.Address); err != nil {
		return fail("MAIL FROM refused by", err)
	}
	if err := c.Rcpt(rcpt.Address); err != nil {
		return fail("RCPT TO refused by", err)
	}
	wc, err := c.Data()
	if err != nil {
		return fail("DATA refused by", err)
	}
	if _, err := wc.Write(msg); err != nil {
		return fail("write message to", err)
	}
	if err := wc.Close(); err != nil {
		return fail("message refused by", err)
	}
	// The server accepted the message with its reply to the final dot; a
	// failing QUIT must not make the caller believe it was not sent.
	_ = c.Quit()
	return nil
}

// build checks the caller's values, which may come from API requests, and
// returns the envelope recipient and the message.
func (m *SMTP) build(to, subject, body string) (*netmail.Address, []byte, error) {
	if strings.ContainsAny(subject, "\r\n") {
		return nil, nil, errors.New("smtp: subject must not contain line breaks")
	}
	rcpt, err := parseAddress(to)
	if err != nil {
		return nil, nil, fmt.Errorf("smtp: recipient: %w", err)
	}
	msg, err := m.message(rcpt, subject, body)
	if err != nil {
		return nil, nil, err
	}
	return rcpt, msg, nil
}

// message builds the RFC 5322 message: encoded-word subject, UTF-8 body in
// quoted-printable so that no line exceeds SMTP's limit, CRLF line ends.
func (m *SMTP) message(to *netmail.Address, subject, body string) ([]byte, error) {
	var id [12]byte
	_, _ = rand.Read(id[:])
	domain := m.from.Address[strings.LastIndexByte(m.from.Address, '@')+1:]
	var b bytes.Buffer
	b.WriteString("From: " + m.from.String() + "\r\n")
	b.WriteString("To: " + to.String() + "\r\n")
	b.WriteString("Subject: " + mime.QEncoding.Encode("utf-8", subject) + "\r\n")
	b.WriteString("Date: " + time.Now().UTC().Format(time.RFC1123Z) + "\r\n")
	b.WriteString("Message-ID: <" + hex.EncodeToString(id[:]) + "@" + domain + ">\r\n")
	b.WriteString("MIME-Version: 1.0\r\n")
	b.WriteString("Content-Type: text/plain; charset=utf-8\r\n")
	b.WriteString("Content-Transfer-Encoding: quoted-printable\r\n\r\n")
	qp := quotedprintable.NewWriter(&b)
	if _, err := qp.Write([]byte(strings.ReplaceAll(body, "\r\n", "\n"))); err != nil {
		return nil, fmt.Errorf("smtp: encode message: %w", err)
	}
	if err := qp.Close(); err != nil {
		return nil, fmt.Errorf("smtp: encode message: %w", err)
	}
	return b.Bytes(), nil
}
