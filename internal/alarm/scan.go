package alarm

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// maxDepth bounds the nesting of JSON values the scanner accepts, so a hostile
// payload cannot exhaust the stack.
const maxDepth = 64

// scanner is a small, allocation-lean JSON reader over a string. Strings
// without escapes are returned as substrings of the input, so one copy of the
// payload backs most of the decoded Alarm. It validates everything it reads,
// including the values it skips.
//
// Errors are *DecodeError with a Path relative to the value being read; object
// and array add the key or index of the member that failed, so callers get a
// full field path without building paths on the success path.
type scanner struct {
	s     string
	i     int
	depth int
}

// next skips white space and returns the next byte, or 0 at the end of input.
func (p *scanner) next() byte {
	for p.i < len(p.s) {
		switch c := p.s[p.i]; c {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return c
		}
	}
	return 0
}

// end reports an error unless only white space is left.
func (p *scanner) end() error {
	if p.next() != 0 {
		return p.syntaxErr(fmt.Sprintf("unexpected %s after the top-level value", p.describe()))
	}
	return nil
}

func (p *scanner) syntaxErr(msg string) error {
	return &DecodeError{Msg: "invalid JSON: " + msg + " at offset " + strconv.Itoa(p.i)}
}

// describe names the byte at the current position for error messages.
func (p *scanner) describe() string {
	if p.i >= len(p.s) {
		return "end of input"
	}
	return fmt.Sprintf("character %q", p.s[p.i])
}

// unexpected reports a syntax error at the current position; want says what
// was expected there.
func (p *scanner) unexpected(want string) error {
	return p.syntaxErr("expected " + want + ", found " + p.describe())
}

// kind names the JSON type that starts with c, for type errors.
func kind(c byte) string {
	switch {
	case c == '{':
		return "an object"
	case c == '[':
		return "an array"
	case c == '"':
		return "a string"
	case c == 't' || c == 'f':
		return "a boolean"
	case c == 'n':
		return "null"
	case c == '-' || (c >= '0' && c <= '9'):
		return "a number"
	}
	return "invalid JSON"
}

// typeErr reports that the value at the current position is not of the wanted
// type. It validates the value first so that a syntax error wins.
func (p *scanner) typeErr(want string) error {
	c := p.next()
	if err := p.skip(); err != nil {
		return err
	}
	return &DecodeError{Msg: "expected " + want + ", found " + kind(c)}
}

// object reads an object, calling fn for every member with the scanner placed
// on the member's value; fn must consume that value (p.skip() by default).
func (p *scanner) object(fn func(key string) error) error {
	if p.next() != '{' {
		return p.typeErr("an object")
	}
	if p.depth++; p.depth > maxDepth {
		return p.syntaxErr("values nested too deeply")
	}
	p.i++
	if p.next() == '}' {
		p.i++
		p.depth--
		return nil
	}
	for {
		if p.next() != '"' {
			return p.unexpected("a string object key")
		}
		key, err := p.str()
		if err != nil {
			return err
		}
		if p.next() != ':' {
			return p.unexpected("':' after object key")
		}
		p.i++
		if err := fn(key); err != nil {
			return wrapPath(err, key)
		}
		switch p.next() {
		case ',':
			p.i++
		case '}':
			p.i++
			p.depth--
			return nil
		default:
			return p.unexpected("',' or '}' after object member")
		}
	}
}

// array reads an array, calling fn for every element with the scanner placed
// on it; fn must consume the element.
func (p *scanner) array(fn func(i int) error) error {
	if p.next() != '[' {
		return p.typeErr("an array")
	}
	if p.depth++; p.depth > maxDepth {
		return p.syntaxErr("values nested too deeply")
	}
	p.i++
	if p.next() == ']' {
		p.i++
		p.depth--
		return nil
	}
	for i := 0; ; i++ {
		if err := fn(i); err != nil {
			return wrapIndex(err, i)
		}
		switch p.next() {
		case ',':
			p.i++
		case ']':
			p.i++
			p.depth--
			return nil
		default:
			return p.unexpected("',' or ']' after array element")
		}
	}
}

// skip reads and validates one value of any type.
func (p *scanner) skip() error {
	switch c := p.next(); {
	case c == '{':
		return p.object(func(string) error { return p.skip() })
	case c == '[':
		return p.array(func(int) error { return p.skip() })
	case c == '"':
		return p.skipStr()
	case c == 't':
		return p.lit("true")
	case c == 'f':
		return p.lit("false")
	case c == 'n':
		return p.lit("null")
	case c == '-' || (c >= '0' && c <= '9'):
		_, err := p.numText()
		return err
	}
	return p.unexpected("a JSON value")
}

// span skips one value and returns its raw text.
func (p *scanner) span() (string, error) {
	p.next()
	start := p.i
	if err := p.skip(); err != nil {
		return "", err
	}
	return p.s[start:p.i], nil
}

func (p *scanner) lit(word string) error {
	if !strings.HasPrefix(p.s[p.i:], word) {
		return p.unexpected("a JSON value")
	}
	p.i += len(word)
	return nil
}

// plain marks the bytes a string can hold without ending, escaping or being
// invalid there: everything but '"', '\\' and control characters.
var plain = func() (t [256]bool) {
	for c := 0x20; c < 256; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// str reads a string; the scanner must be on its opening quote. Strings
// without escapes are substrings of the input and cost no allocation.
func (p *scanner) str() (string, error) {
	start := p.i + 1
	for j := start; j < len(p.s); j++ {
		for j < len(p.s) && plain[p.s[j]] {
			j++
		}
		if j >= len(p.s) {
			break
		}
		switch c := p.s[j]; {
		case c == '"':
			p.i = j + 1
			return p.s[start:j], nil
		case c == '\\':
			return p.strEscaped(start, j)
		case c < 0x20:
			p.i = j
			return "", p.syntaxErr("control character in string")
		}
	}
	p.i = len(p.s)
	return "", p.syntaxErr("unterminated string")
}

// skipStr validates a string without building it.
func (p *scanner) skipStr() error {
	for j := p.i + 1; j < len(p.s); j++ {
		for j < len(p.s) && plain[p.s[j]] {
			j++
		}
		if j >= len(p.s) {
			break
		}
		switch c := p.s[j]; {
		case c == '"':
			p.i = j + 1
			return nil
		case c == '\\':
			if j+1 >= len(p.s) {
				p.i = j
				return p.syntaxErr("unterminated string")
			}
			switch p.s[j+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				j++
			case 'u':
				if _, ok := hex4(p.s, j+2); !ok {
					p.i = j
					return p.syntaxErr("invalid \\u escape in string")
				}
				j += 5
			default:
				p.i = j
				return p.syntaxErr("invalid escape in string")
			}
		case c < 0x20:
			p.i = j
			return p.syntaxErr("control character in string")
		}
	}
	p.i = len(p.s)
	return p.syntaxErr("unterminated string")
}

// strEscaped finishes reading a string that holds escapes: start is the first
// byte of its content, j the first backslash.
func (p *scanner) strEscaped(start, j int) (string, error) {
	// Find the closing quote first, so the one allocation is sized to the
	// string and not to the rest of the input.
	end := j
	for end < len(p.s) && p.s[end] != '"' {
		if p.s[end] == '\\' {
			end++
		}
		end++
	}
	var b strings.Builder
	b.Grow(min(end, len(p.s)) - start)
	b.WriteString(p.s[start:j])
	for j < len(p.s) {
		c := p.s[j]
		switch {
		case c == '"':
			p.i = j + 1
			return b.String(), nil
		case c < 0x20:
			p.i = j
			return "", p.syntaxErr("control character in string")
		case c != '\\':
			k := j + 1
			for k < len(p.s) && plain[p.s[k]] {
				k++
			}
			b.WriteString(p.s[j:k])
			j = k
			continue
		}
		if j+1 >= len(p.s) {
			break
		}
		switch e := p.s[j+1]; e {
		case '"', '\\', '/':
			b.WriteByte(e)
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'u':
			r, ok := hex4(p.s, j+2)
			if !ok {
				p.i = j
				return "", p.syntaxErr("invalid \\u escape in string")
			}
			j += 6
			if utf16.IsSurrogate(r) {
				r2 := utf8.RuneError
				if j+1 < len(p.s) && p.s[j] == '\\' && p.s[j+1] == 'u' {
					if lo, ok := hex4(p.s, j+2); ok {
						if d := utf16.DecodeRune(r, lo); d != utf8.RuneError {
							r2 = d
							j += 6
						}
					}
				}
				r = r2
			}
			b.WriteRune(r)
			continue
		default:
			p.i = j
			return "", p.syntaxErr("invalid escape in string")
		}
		j += 2
	}
	p.i = len(p.s)
	return "", p.syntaxErr("unterminated string")
}

// hex4 decodes the four hex digits of a \u escape starting at s[i].
func hex4(s string, i int) (rune, bool) {
	if i+4 > len(s) {
		return 0, false
	}
	var r rune
	for _, c := range []byte(s[i : i+4]) {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// numText reads a number and returns its text, checking the JSON grammar.
func (p *scanner) numText() (string, error) {
	s, i := p.s, p.i
	start := i
	digits := func() bool {
		j := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		return i > j
	}
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case !digits():
		p.i = i
		return "", p.unexpected("a digit")
	}
	if i < len(s) && s[i] == '.' {
		i++
		if !digits() {
			p.i = i
			return "", p.unexpected("a digit after the decimal point")
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if !digits() {
			p.i = i
			return "", p.unexpected("a digit in the exponent")
		}
	}
	p.i = i
	return s[start:i], nil
}

// strVal reads a string or null (""), failing on any other type.
func (p *scanner) strVal() (string, error) {
	switch p.next() {
	case '"':
		return p.str()
	case 'n':
		return "", p.lit("null")
	}
	return "", p.typeErr("a string")
}

// numVal reads a number or null (ok false).
func (p *scanner) numVal() (v float64, ok bool, err error) {
	switch c := p.next(); {
	case c == 'n':
		return 0, false, p.lit("null")
	case c == '-' || (c >= '0' && c <= '9'):
		text, err := p.numText()
		if err != nil {
			return 0, false, err
		}
		v, err := strconv.ParseFloat(text, 64)
		if err != nil {
			return 0, false, &DecodeError{Msg: "number " + text + " is out of range"}
		}
		return v, true, nil
	}
	return 0, false, p.typeErr("a number")
}

// intVal reads a whole number (or null, 0) that fits comfortably in an int.
func (p *scanner) intVal() (int, error) {
	v, ok, err := p.numVal()
	if err != nil || !ok {
		return 0, err
	}
	if v != math.Trunc(v) || v < math.MinInt32 || v > math.MaxInt32 {
		return 0, &DecodeError{Msg: "expected a whole number, found " + strconv.FormatFloat(v, 'g', -1, 64)}
	}
	return int(v), nil
}

// boolVal reads true, false or null (false).
func (p *scanner) boolVal() (bool, error) {
	switch p.next() {
	case 't':
		return true, p.lit("true")
	case 'f':
		return false, p.lit("false")
	case 'n':
		return false, p.lit("null")
	}
	return false, p.typeErr("a boolean")
}

// floats reads an array of numbers (or null) into a slice of exactly the
// right length; null elements are dropped.
func (p *scanner) floats() ([]float64, error) {
	if p.next() == 'n' {
		return nil, p.lit("null")
	}
	var buf [16]float64
	vals := buf[:0]
	err := p.array(func(int) error {
		v, ok, err := p.numVal()
		if ok {
			vals = append(vals, v)
		}
		return err
	})
	if err != nil || len(vals) == 0 {
		return nil, err
	}
	out := make([]float64, len(vals))
	copy(out, vals)
	return out, nil
}

// stringMap reads an object of strings (or null) into a map.
func (p *scanner) stringMap() (map[string]string, error) {
	if p.next() == 'n' {
		return nil, p.lit("null")
	}
	var m map[string]string
	err := p.object(func(key string) error {
		v, err := p.strVal()
		if err != nil {
			return err
		}
		if m == nil {
			m = make(map[string]string)
		}
		m[key] = v
		return nil
	})
	return m, err
}
