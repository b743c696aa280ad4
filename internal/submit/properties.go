package submit

import (
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"
)

// FormatProperties writes conf in Java properties syntax, keys sorted, as
// java.util.Properties.store(Writer, comment) would (without its date line,
// so the output is deterministic): '\', '=', ':', '#', '!' and the control
// characters \t \n \r \f are escaped in keys and values; spaces are escaped in
// keys and at the start of values; other control characters as \uXXXX.
func FormatProperties(comment string, conf map[string]string) string {
	keys := make([]string, 0, len(conf))
	for k := range conf {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	if comment != "" {
		for _, line := range strings.Split(comment, "\n") {
			b.WriteString("#")
			b.WriteString(line)
			b.WriteString("\n")
		}
	}
	for _, k := range keys {
		escapeProperty(&b, k, true)
		b.WriteByte('=')
		escapeProperty(&b, conf[k], false)
		b.WriteByte('\n')
	}
	return b.String()
}

func escapeProperty(b *strings.Builder, s string, isKey bool) {
	for i, r := range s {
		switch r {
		case ' ':
			if i == 0 || isKey {
				b.WriteByte('\\')
			}
			b.WriteByte(' ')
		case '\\', '=', ':', '#', '!':
			b.WriteByte('\\')
			b.WriteRune(r)
		case '\t':
			b.WriteString(`\t`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\f':
			b.WriteString(`\f`)
		default:
			if r < 0x20 || r == 0x7f || r == utf8.RuneError {
				fmt.Fprintf(b, `\u%04X`, r)
			} else {
				b.WriteRune(r)
			}
		}
	}
}

// ParseProperties reads Java properties syntax (java.util.Properties.load):
// comment lines (# or !), key/value separated by '=', ':' or whitespace,
// backslash escapes including \uXXXX, and line continuations. A later key
// wins over an earlier one.
func ParseProperties(text string) (map[string]string, error) {
	out := map[string]string{}
	lines := splitLogicalLines(text)
	for _, line := range lines {
		key, value, err := splitProperty(line)
		if err != nil {
			return nil, err
		}
		out[key] = value
	}
	return out, nil
}

// splitLogicalLines joins continued lines (an odd number of trailing
// backslashes) and drops blank and comment lines; leading whitespace of each
// natural line is skipped, as Properties.load does.
func splitLogicalLines(text string) []string {
	var logical []string
	var cur strings.Builder
	continuing := false
	// Split on \n, \r and \r\n, keeping empty lines significant for continuation.
	raw := strings.Split(strings.ReplaceAll(strings.ReplaceAll(text, "\r\n", "\n"), "\r", "\n"), "\n")
	for _, line := range raw {
		line = strings.TrimLeft(line, " \t\f")
		if !continuing {
			if line == "" || line[0] == '#' || line[0] == '!' {
				continue
			}
		}
		trailing := len(line) - len(strings.TrimRight(line, `\`))
		if trailing%2 == 1 {
			cur.WriteString(line[:len(line)-1])
			continuing = true
			continue
		}
		cur.WriteString(line)
		logical = append(logical, cur.String())
		cur.Reset()
		continuing = false
	}
	if continuing {
		logical = append(logical, cur.String())
	}
	return logical
}

func splitProperty(line string) (string, string, error) {
	// The key ends at the first unescaped '=', ':' or whitespace.
	end := len(line)
	for i := 0; i < len(line); i++ {
		c := line[i]
		if c == '\\' {
			i++
			continue
		}
		if c == '=' || c == ':' || c == ' ' || c == '\t' || c == '\f' {
			end = i
			break
		}
	}
	rawKey := line[:end]
	rest := line[end:]
	rest = strings.TrimLeft(rest, " \t\f")
	if rest != "" && (rest[0] == '=' || rest[0] == ':') {
		rest = strings.TrimLeft(rest[1:], " \t\f")
	}
	key, err := unescapeProperty(rawKey)
	if err != nil {
		return "", "", err
	}
	value, err := unescapeProperty(rest)
	if err != nil {
		return "", "", err
	}
	return key, value, nil
}

func unescapeProperty(s string) (string, error) {
	if !strings.Contains(s, `\`) {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' {
			b.WriteByte(c)
			continue
		}
		i++
		if i == len(s) {
			break
		}
		switch s[i] {
		case 't':
			b.WriteByte('\t')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 'f':
			b.WriteByte('\f')
		case 'u':
			if i+5 > len(s) {
				return "", fmt.Errorf("malformed \\uxxxx escape in %q", s)
			}
			var r rune
			for _, h := range s[i+1 : i+5] {
				var d rune
				switch {
				case h >= '0' && h <= '9':
					d = h - '0'
				case h >= 'a' && h <= 'f':
					d = h - 'a' + 10
				case h >= 'A' && h <= 'F':
					d = h - 'A' + 10
				default:
					return "", fmt.Errorf("malformed \\uxxxx escape in %q", s)
				}
				r = r<<4 | d
			}
			b.WriteRune(r)
			i += 4
		default:
			b.WriteByte(s[i])
		}
	}
	return b.String(), nil
}
