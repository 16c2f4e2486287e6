package main

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// TestYAMLKeysMatchFlags holds every option's YAML key (its flag's name
// with underscores) to the Config struct: the key exists, and a file
// setting it gives the same Config as the flag; the README's table names
// the key in the option's row.
func TestYAMLKeysMatchFlags(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string]bool{}
	for _, k := range yamlKeys(reflect.TypeOf(Config{})) {
		keys[k] = true
	}
	for _, o := range options {
		key := o.yamlKey()
		if !keys[key] {
			t.Errorf("--%s: Config has no YAML key %s", o.flag, key)
			continue
		}
		// a value the flag accepts and that changes the default
		want := defaults()
		sample := ""
		for _, v := range []string{"7", "7s", "true", "false", "x.example,y.example", "debug", "text", "127.0.0.1:6061", "redis://127.0.0.1:6390", "/prefix", strings.Repeat("s", 40)} {
			c := defaults()
			if o.set(&c, v) == nil && !reflect.DeepEqual(c, defaults()) {
				want, sample = c, v
				break
			}
		}
		if sample == "" {
			t.Errorf("--%s: no sample value", o.flag)
			continue
		}
		field, ok := fieldByYAML(reflect.ValueOf(want), key)
		if !ok {
			t.Fatalf("--%s: no field for %s", o.flag, key)
		}
		doc, err := yaml.Marshal(map[string]any{key: field.Interface()})
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(t.TempDir(), "c.yaml")
		if err := os.WriteFile(path, doc, 0o600); err != nil {
			t.Fatal(err)
		}
		got := defaults()
		if err := loadFile(&got, path); err != nil {
			t.Errorf("--%s: %s: %v", o.flag, doc, err)
			continue
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("--%s=%s and the YAML %q set different settings", o.flag, sample, doc)
		}
		if row := readmeRow(string(readme), o.flag); !strings.Contains(row, "`"+key+"`") {
			t.Errorf("README.md: the row of --%s does not name the YAML key %s: %q", o.flag, key, row)
		}
	}
}

// fieldByYAML finds the field with YAML key key in struct v, inlined
// structs included.
func fieldByYAML(v reflect.Value, key string) (reflect.Value, bool) {
	for i := range v.NumField() {
		f := v.Type().Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if opts == "inline" {
			if fv, ok := fieldByYAML(v.Field(i), key); ok {
				return fv, true
			}
		}
		if name == key {
			return v.Field(i), true
		}
	}
	return reflect.Value{}, false
}

func readmeRow(readme, flag string) string {
	for _, line := range strings.Split(readme, "\n") {
		if strings.HasPrefix(line, "| ") && strings.Contains(strings.SplitN(line, " | ", 2)[0], "`--"+flag+"`") {
			return line
		}
	}
	return ""
}

// TestConfigMessages pins the wording of configuration errors: each a
// sentence naming the YAML key and what it accepts, unknown keys and
// flags with the nearest known one.
func TestConfigMessages(t *testing.T) {
	cases := []struct {
		name string
		yaml string
		args []string
		want []string
	}{
		{"numbers and lists", "databases: -1\nlog_level: loud\nlog_format: xml\npool_size: -3\ncommand_timeout: 0s\nauto_pipeline_conns: 0\n", nil, []string{
			"databases must be at least 0 (got -1)",
			`log_level must be one of debug, info, warn or error (got "loud")`,
			`log_format must be one of json or text (got "xml")`,
			"pool_size must be at least 0 (got -3)",
			"command_timeout must be more than 0s (got 0s)",
			"auto_pipeline_conns must be at least 1 (got 0)",
		}},
		{"addresses", "addr: nope\nredis_url: http://user:secret@x\npprof_addr: x\ncors_origins: [\"\"]\ntls_cert: /c.pem\n", nil, []string{
			`addr must be host:port with a port from 0 to 65535, such as 127.0.0.1:8080 (got "nope")`,
			"redis_url must be a Redis URL starting with redis://, rediss://, unix://, redis+cluster:// or redis+sentinel:// (got a URL, not shown)",
			`pprof_addr must be host:port, such as 127.0.0.1:6060 (got "x")`,
			"cors_origins[0] must be set and not empty",
			"tls_key must be set together with tls_cert",
		}},
		{"tokens", "tokens:\n  - name: a\n    databases: [\"0\"]\n    level: write\n  - name: b\n    token: x\n    token_sha256: abc\n    level: root\n", nil, []string{
			"tokens[0].token: set it or tokens[0].token_sha256 (one of the two)",
			"tokens[1].token: set it or tokens[1].token_sha256, not both",
			"tokens[1].token_sha256 must be exactly 64 characters long",
			"tokens[1].databases must be set (only a metrics token may leave it out)",
			`tokens[1].level must be one of read, write, admin or metrics (got "root")`,
		}},
		{"named database", "named_databases:\n  \"bad name\": {url: \"redis://x\"}\n", nil, []string{
			`named_databases[bad name]: a database name is 1 to 64 letters, digits, - or _ (got "bad name")`,
		}},
		{"nothing served", "", []string{"--databases=0"}, []string{
			"databases is 0 and no named_databases are configured, so nothing would be served: set databases to at least 1 (the default is 16)",
		}},
		{"unknown keys", "pool_sizee: 3\npool:\n  size: 3\ntokens:\n  - name: x\n    tokn: y\nzzzzzz: 1\n", nil, []string{
			"line 1: unknown key pool_sizee: did you mean pool_size?",
			"line 2: unknown key pool: the pool settings are top-level keys, named like their flags: pool_size, pool_min_idle, pool_timeout, pool_idle_time, pool_max_lifetime, dial_timeout",
			"line 6: unknown key tokn: did you mean token?",
			"line 7: unknown key zzzzzz (README.md, Configuration, lists every key)",
		}},
		{"flag typo", "", []string{"--pool-sizee=3"}, []string{"unknown flag --pool-sizee: did you mean --pool-size? (gateway --help lists every flag)"}},
		{"flag typo, one dash", "", []string{"-databses", "3"}, []string{"unknown flag --databses: did you mean --databases? (gateway --help lists every flag)"}},
		{"unknown flag", "", []string{"--zzz"}, []string{"unknown flag --zzz (gateway --help lists every flag)"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			args := []string{"gateway"}
			if tc.yaml != "" {
				path := filepath.Join(t.TempDir(), "c.yaml")
				if err := os.WriteFile(path, []byte(tc.yaml), 0o600); err != nil {
					t.Fatal(err)
				}
				args = append(args, "--config", path)
			}
			var stdout, stderr strings.Builder
			_, err := loadConfig(append(args, tc.args...), func(string) string { return "" }, &stdout, &stderr)
			if err == nil {
				t.Fatal("got no error")
			}
			lines := strings.Split(err.Error(), "\n")
			for _, want := range tc.want {
				found := false
				for _, l := range lines {
					found = found || l == want
				}
				if !found {
					t.Errorf("no line %q in:\n%v", want, err)
				}
			}
			if strings.Contains(err.Error(), "secret") || stdout.Len() > 0 || stderr.Len() > 0 {
				t.Errorf("leaked a password or printed help: %v / %q / %q", err, stdout.String(), stderr.String())
			}
		})
	}
}
