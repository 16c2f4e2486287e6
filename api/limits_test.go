package api

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// TestArgumentLimitSpansBatches checks that the 100,000-argument limit of
// /command holds over a whole pipeline or transaction, on every surface:
// one command under the limit and one over it refuse the whole batch with
// 413 before anything runs.
func TestArgumentLimitSpansBatches(t *testing.T) {
	t.Parallel()
	g := newGateway(t, gatewayOpts{})
	key := t.Name() + ":never"
	set := `["SET",` + quoteJSON(key) + `,"1"]`
	half := `[` + mgetArgs(maxArgs/2+1) + `]` // two of these are over the limit
	cases := []struct {
		name, path, body string
		status           int
	}{
		{"command at the limit", "/db/0/command", `{"command":[` + mgetArgs(maxArgs) + `]}`, 200},
		{"command over the limit", "/db/0/command", `{"command":[` + mgetArgs(maxArgs+1) + `]}`, 413},
		{"pipeline under the limit", "/db/0/pipeline", `{"commands":[` + half + `]}`, 200},
		{"pipeline over the limit in sum", "/db/0/pipeline", `{"commands":[` + set + `,` + half + `,` + half + `]}`, 413},
		{"transaction over the limit in sum", "/db/0/transaction", `{"commands":[` + set + `,` + half + `,` + half + `]}`, 413},
		{"upstash at the limit", "/upstash/0", `[` + mgetArgs(maxArgs) + `]`, 200},
		{"upstash over the limit", "/upstash/0", `[` + mgetArgs(maxArgs+1) + `]`, 413},
		{"upstash pipeline over the limit in sum", "/upstash/0/pipeline", `[` + set + `,` + half + `,` + half + `]`, 413},
		{"upstash multi-exec over the limit in sum", "/upstash/0/multi-exec", `[` + set + `,` + half + `,` + half + `]`, 413},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rep := g.do(t, "POST", tc.path, tc.body, "Content-Type: application/json")
			if rep.Status != tc.status {
				t.Fatalf("POST %s (%d bytes): got status %d (%.200s), want %d", tc.path, len(tc.body), rep.Status, rep.Body, tc.status)
			}
			if tc.status == 413 && !strings.Contains(string(rep.Body), "100000 command arguments") {
				t.Fatalf("POST %s: got body %.200s, want it to name the 100000-argument limit", tc.path, rep.Body)
			}
		})
	}
	if v := shared.Do(t, "EXISTS", key); v.Int != 0 {
		t.Fatal("a batch over the argument limit ran a command")
	}
}

func quoteJSON(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// TestScanArgs checks the one-pass argument decoder against encoding/json.
func TestScanArgs(t *testing.T) {
	cases := []struct {
		name, in string
		loose    bool
		want     []string
		err      bool
	}{
		{"strings", `["GET","k"]`, false, []string{"GET", "k"}, false},
		{"white space", " [ \"a\" ,\n\t\"b\" ] ", false, []string{"a", "b"}, false},
		{"empty", `[]`, false, []string{}, false},
		{"escapes", `["a\"b","\u00e9\\","x\/y"]`, false, []string{`a"b`, "é\\", "x/y"}, false},
		{"unicode", `["日本","é"]`, false, []string{"日本", "é"}, false},
		{"null element", `["SET",null]`, false, []string{"SET", ""}, false},
		{"number refused", `["GET",1]`, false, nil, true},
		{"object refused", `["GET",{}]`, false, nil, true},
		{"not an array", `"GET"`, false, nil, true},
		{"upstash values", `["SET","k",12.5,true,null,{"a":["]",1]},[1,"x"]]`, true, []string{"SET", "k", "12.5", "true", "", `{"a":["]",1]}`, `[1,"x"]`}, false},
		{"upstash invalid UTF-8 as encoding/json", "[\"a\xffb\"]", true, []string{"a\uFFFDb"}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := scanArgs([]byte(tc.in), tc.loose)
			if (err != nil) != tc.err {
				t.Fatalf("scanArgs(%q): got error %v, want error %v", tc.in, err, tc.err)
			}
			if !tc.err && !slices.Equal(got, tc.want) {
				t.Fatalf("scanArgs(%q): got %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

// FuzzScanArgs checks that scanArgs decodes every valid JSON body exactly
// as encoding/json does into a []string, and refuses what it refuses.
func FuzzScanArgs(f *testing.F) {
	for _, s := range []string{`["GET","k"]`, `[]`, `null`, ` [ "a\"b" , "\u00e9" ] `, `["x",null]`, `["a",1]`, `[["a"]]`, `{"a":1}`, `"s"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		if !json.Valid([]byte(in)) || !utf8.ValidString(in) {
			return // decode refuses these before any field is decoded
		}
		var want []string
		wantErr := json.Unmarshal([]byte(in), &want)
		got, err := scanArgs([]byte(in), false)
		if (err != nil) != (wantErr != nil) {
			t.Fatalf("scanArgs(%q): got error %v, want %v", in, err, wantErr)
		}
		if err == nil && !slices.Equal(got, want) {
			t.Fatalf("scanArgs(%q): got %q, want %q", in, got, want)
		}
	})
}
