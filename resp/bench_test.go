package resp

import (
	"bytes"
	"strings"
	"testing"
)

func benchRead(b *testing.B, wire string) {
	b.ReportAllocs()
	b.SetBytes(int64(len(wire)))
	r := strings.NewReader(wire)
	rd := NewReader(r, Limits{})
	for b.Loop() {
		r.Reset(wire)
		rd.Reset(r)
		if _, err := rd.Read(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkReadSimple(b *testing.B) { benchRead(b, "+OK\r\n") }
func BenchmarkReadInt(b *testing.B)    { benchRead(b, ":123456\r\n") }
func BenchmarkReadDouble(b *testing.B) { benchRead(b, ",3.14159\r\n") }
func BenchmarkReadBulk16(b *testing.B) { benchRead(b, "$16\r\n"+strings.Repeat("v", 16)+"\r\n") }
func BenchmarkReadBulk4K(b *testing.B) {
	benchRead(b, "$4096\r\n"+strings.Repeat("v", 4096)+"\r\n")
}

func BenchmarkReadArray100(b *testing.B) {
	var sb strings.Builder
	sb.WriteString("*100\r\n")
	for range 100 {
		sb.WriteString("$8\r\nmember00\r\n")
	}
	benchRead(b, sb.String())
}

func BenchmarkReadMap100(b *testing.B) {
	var sb strings.Builder
	sb.WriteString("%100\r\n")
	for range 100 {
		sb.WriteString("$5\r\nfield\r\n$5\r\nvalue\r\n")
	}
	benchRead(b, sb.String())
}

func benchWrite(b *testing.B, val string) {
	b.ReportAllocs()
	var buf bytes.Buffer
	w := NewWriter(&buf)
	for b.Loop() {
		buf.Reset()
		_ = w.WriteCommand("SET", "key:000001", val)
		_ = w.Flush()
	}
}

func BenchmarkWriteCommand16(b *testing.B) { benchWrite(b, strings.Repeat("v", 16)) }
func BenchmarkWriteCommand4K(b *testing.B) { benchWrite(b, strings.Repeat("v", 4096)) }
