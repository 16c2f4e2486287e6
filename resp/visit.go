package resp

import (
	"fmt"
	"io"
)

// A Visitor receives one reply piece by piece while [Reader.Visit] reads
// it, so that a consumer can turn the reply into something else (JSON, a
// count, a file) without the reader first building a tree of Values: the
// memory a visit needs is the visitor's output plus the largest scalar,
// not about a hundred bytes per element.
//
// Calls follow the reply's structure: Begin, then the aggregate's
// elements (for a map: key, value, key, value…), then End. Attributes are
// read and dropped, as the gateway's generic conversion ignores them.
type Visitor interface {
	// Scalar receives a value that is not an aggregate. Its Str may share
	// memory with the reader's buffers: copy it to keep it after the call.
	Scalar(v Value) error
	// Begin opens an aggregate (Array, Set, Push or Map) of n elements;
	// for a Map n counts pairs.
	Begin(kind Kind, n int) error
	// End closes the aggregate opened last.
	End() error
}

// Visit reads one complete value and hands it to vis. Its error err is
// a transport, protocol or limit error as [Reader.Read] returns them,
// after which the stream is out of sync. The first error vis returns is
// visitErr, and leaves the stream in step: Visit stops calling vis and
// reads the rest of the value.
func (r *Reader) Visit(vis Visitor) (visitErr, err error) {
	g := guard{vis: vis}
	if err := r.visit(&g, 0); err != nil {
		return g.err, err
	}
	return g.err, nil
}

// PeekType returns the type byte of the next value without consuming it.
func (r *Reader) PeekType() (byte, error) {
	b, err := r.br.Peek(1)
	if err != nil {
		return 0, err
	}
	return b[0], nil
}

// guard forwards to a visitor until it fails once, then swallows the
// rest of the value.
type guard struct {
	vis Visitor
	err error
}

func (g *guard) scalar(v Value) {
	if g.err == nil {
		g.err = g.vis.Scalar(v)
	}
}

func (g *guard) begin(kind Kind, n int) {
	if g.err == nil {
		g.err = g.vis.Begin(kind, n)
	}
}

func (g *guard) end() {
	if g.err == nil {
		g.err = g.vis.End()
	}
}

// visit reads one value nested in depth aggregates, as read does.
func (r *Reader) visit(g *guard, depth int) error {
	pending := depth > 0 // an EOF now cuts a value short
	var attrPairs int64  // of the attributes in front of this value, as read counts them
	for {
		line, err := r.line()
		if err != nil {
			if pending && err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return err
		}
		if len(line) == 0 {
			return fmt.Errorf("%w: empty line", ErrProtocol)
		}
		typ := line[0]
		switch typ {
		case '|':
			// Attributes are read as values (they are small: server
			// hints) and dropped.
			n, err := parseInt(line[1:])
			if err != nil {
				return err
			}
			if err := r.checkAggregate(n, depth); err != nil {
				return err
			}
			if attrPairs += n; attrPairs > r.lim.MaxElems {
				return fmt.Errorf("%w: attributes of %d pairs over %d", ErrLimit, attrPairs, r.lim.MaxElems)
			}
			for range 2 * n {
				if _, err := r.read(depth + 1); err != nil {
					return unexpected(err)
				}
			}
			pending = true
			continue
		case '*', '~', '>', '%':
			n, err := parseInt(line[1:])
			if err != nil {
				return err
			}
			if n == -1 && typ == '*' {
				g.scalar(Value{Kind: Null, Bool: true}) // as Read: the RESP2 null array
				return nil
			}
			if err := r.checkAggregate(n, depth); err != nil {
				return err
			}
			kind, count := aggregateKind(typ, int(n))
			g.begin(kind, int(n))
			for range count {
				if err := r.visit(g, depth+1); err != nil {
					return unexpected(err)
				}
			}
			g.end()
			return nil
		}
		v, err := r.value(typ, line[1:], depth)
		if err != nil {
			return err
		}
		g.scalar(v)
		return nil
	}
}

// Walk hands a value already read to vis, with the calls [Reader.Visit]
// would have made while reading it (attributes dropped), and returns the
// first error of vis.
func Walk(v Value, vis Visitor) error {
	switch v.Kind {
	case Array, Set, Push:
		if err := vis.Begin(v.Kind, len(v.Elems)); err != nil {
			return err
		}
	case Map:
		if err := vis.Begin(Map, len(v.Elems)/2); err != nil {
			return err
		}
	default:
		v.Attrs = nil
		return vis.Scalar(v)
	}
	for _, e := range v.Elems {
		if err := Walk(e, vis); err != nil {
			return err
		}
	}
	return vis.End()
}

// ReadArrayHeader reads the header of an array whose elements the caller
// then reads one by one (with Read or Visit): n is the element count, -1
// for a RESP2 null array. A value of another type is a protocol error.
func (r *Reader) ReadArrayHeader() (n int, err error) {
	line, err := r.line()
	if err != nil {
		return 0, err
	}
	if len(line) == 0 || line[0] != '*' {
		return 0, fmt.Errorf("%w: want an array, got %q", ErrProtocol, line)
	}
	m, err := parseInt(line[1:])
	if err != nil {
		return 0, err
	}
	if m == -1 {
		return -1, nil
	}
	if err := r.checkAggregate(m, 0); err != nil {
		return 0, err
	}
	return int(m), nil
}
