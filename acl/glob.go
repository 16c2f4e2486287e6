package acl

// Match reports whether s matches the glob pattern in Redis's syntax (the
// one of KEYS, PSUBSCRIBE and ACL patterns): * any run, ? one byte,
// [abc] [^abc] [a-z] classes, and \ quoting the next byte. It works on
// bytes, as Redis does.
func Match(pattern, s string) bool {
	for len(pattern) > 0 {
		switch pattern[0] {
		case '*':
			for len(pattern) > 1 && pattern[1] == '*' {
				pattern = pattern[1:]
			}
			if len(pattern) == 1 {
				return true
			}
			for i := 0; i <= len(s); i++ {
				if Match(pattern[1:], s[i:]) {
					return true
				}
			}
			return false
		case '?':
			if len(s) == 0 {
				return false
			}
			s = s[1:]
			pattern = pattern[1:]
		case '[':
			if len(s) == 0 {
				return false
			}
			rest, ok := matchClass(pattern[1:], s[0])
			if !ok {
				return false
			}
			pattern = rest
			s = s[1:]
		case '\\':
			if len(pattern) >= 2 {
				pattern = pattern[1:]
			}
			fallthrough
		default:
			if len(s) == 0 || pattern[0] != s[0] {
				return false
			}
			s = s[1:]
			pattern = pattern[1:]
		}
	}
	return len(s) == 0
}

// matchClass matches c against the class that p starts just after "[",
// returning the pattern after the closing "]". An unclosed class runs to
// the end of the pattern, as in Redis.
func matchClass(p string, c byte) (string, bool) {
	not := len(p) > 0 && p[0] == '^'
	if not {
		p = p[1:]
	}
	match := false
	for len(p) > 0 && p[0] != ']' {
		switch {
		case p[0] == '\\' && len(p) >= 2:
			if p[1] == c {
				match = true
			}
			p = p[2:]
		case len(p) >= 3 && p[1] == '-':
			lo, hi := p[0], p[2]
			if lo > hi {
				lo, hi = hi, lo
			}
			if c >= lo && c <= hi {
				match = true
			}
			p = p[3:]
		default:
			if p[0] == c {
				match = true
			}
			p = p[1:]
		}
	}
	if len(p) > 0 {
		p = p[1:] // the "]"
	}
	return p, match != not
}

// AnyMatch reports whether s matches one of the patterns; no patterns
// means everything matches.
func AnyMatch(patterns []string, s string) bool {
	if len(patterns) == 0 {
		return true
	}
	for _, p := range patterns {
		if Match(p, s) {
			return true
		}
	}
	return false
}

// Covers reports whether a PSUBSCRIBE pattern is allowed by the channel
// patterns: as in Redis's ACLs, it must equal one of them (a pattern
// cannot be proven to stay inside another), unless every channel is
// allowed.
func Covers(patterns []string, pattern string) bool {
	if len(patterns) == 0 {
		return true
	}
	for _, p := range patterns {
		if p == pattern || p == "*" {
			return true
		}
	}
	return false
}
