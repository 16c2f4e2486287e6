package api

import (
	"bytes"
	"encoding/json"
	"net"
	"net/http"
	"strconv"
)

// netHTTPBadRequest is how net/http answers a request it cannot parse
// (server.go, conn.serve) before any handler runs: a request line whose
// target holds a "%" not followed by two hex digits ("/db/0/strings/100%"),
// a malformed header… It writes this text straight to the connection, so
// only the connection can turn it into a problem.
var (
	netHTTPBadRequest = []byte("HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n")
	badRequestDetail  = "the request could not be parsed: most often a path segment holds a \"%\" that is not followed by two hex digits; percent-encode keys, fields, members and channels (\"%\" as %25, \"/\" as %2F, \"?\" as %3F, \"#\" as %23), or send them with ?key_encoding=base64"
)

// ProblemListener wraps ln so that the plain-text "400 Bad Request"
// net/http sends for a request it cannot parse goes out as a problem+json
// document (400 VALIDATION) instead, like every other error of the
// gateway. Everything else passes through unchanged. It works on the
// plain HTTP listener: under TLS the text is encrypted before it reaches
// the listener's connections, and net/http needs the *tls.Conn itself.
func ProblemListener(ln net.Listener) net.Listener { return problemListener{ln} }

type problemListener struct{ net.Listener }

func (l problemListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &problemConn{Conn: c}, nil
}

// problemConn rewrites net/http's bare 400 on the way out.
type problemConn struct{ net.Conn }

// badRequestResponse is the problem+json response sent in its place.
var badRequestResponse = func() []byte {
	body, _ := json.Marshal(Problem{
		Type:   "urn:redis-gateway:problem:" + CodeValidation,
		Title:  titles[http.StatusBadRequest],
		Status: http.StatusBadRequest,
		Detail: badRequestDetail,
		Code:   CodeValidation,
		Errors: []FieldError{{Field: "path", Message: "is not a valid request target (a \"%\" must start a %XX escape)"}},
	})
	var b bytes.Buffer
	b.WriteString("HTTP/1.1 400 Bad Request\r\nContent-Type: application/problem+json\r\nCache-Control: no-store\r\nConnection: close\r\nContent-Length: ")
	b.WriteString(strconv.Itoa(len(body)))
	b.WriteString("\r\n\r\n")
	b.Write(body)
	return b.Bytes()
}()

func (c *problemConn) Write(b []byte) (int, error) {
	// net/http writes the whole answer in one call; a handler's response
	// always carries a Date header, so it never begins like this.
	if bytes.HasPrefix(b, netHTTPBadRequest) {
		if _, err := c.Conn.Write(badRequestResponse); err != nil {
			return 0, err
		}
		return len(b), nil
	}
	return c.Conn.Write(b)
}

// CloseWrite keeps net/http's graceful close (half-close, then wait)
// working through the wrapper.
func (c *problemConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}
