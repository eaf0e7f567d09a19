package alarm

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
)

// maxDepth bounds the nesting of JSON values medic reads; no alarm payload
// nests deeper than a dozen levels.
const maxDepth = 64

// decodeJSON unmarshals data into v with encoding/json. Its errors are
// *DecodeError with a path relative to data (see jsonError).
func decodeJSON(data []byte, v any) error {
	return jsonError(data, json.Unmarshal(data, v))
}

// jsonError turns what json.Unmarshal returned for data into a
// *DecodeError naming the field at fault, and also reports data nested
// deeper than maxDepth. encoding/json's errors locate a problem by byte
// offset only (a type error's Field has no array indexes), so the path is
// found by walking data's tokens up to that offset, which happens only
// when something is wrong.
func jsonError(data []byte, err error) error {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return locate(data, -1, err)
	case tooDeep(data):
		return locate(data, -1, nil)
	case err == nil:
		return nil
	case errors.As(err, &typ):
		de := locate(data, typ.Offset, nil)
		de.Msg = "expected " + goKind(typ.Type) + ", found " + jsonValue(typ.Value)
		if strings.HasPrefix(typ.Value, "number ") && goKind(typ.Type) == "a number" {
			de.Msg = typ.Value + " is out of range"
		}
		return de
	}
	return &DecodeError{Msg: err.Error()}
}

// tooDeep reports whether valid JSON nests deeper than maxDepth.
func tooDeep(data []byte) bool {
	if bytes.Count(data, []byte{'{'})+bytes.Count(data, []byte{'['}) <= maxDepth {
		return false // not enough openers, in strings or not
	}
	depth := 0
	for i := 0; i < len(data); i++ {
		switch data[i] {
		case '"':
			for i++; i < len(data) && data[i] != '"'; i++ {
				if data[i] == '\\' {
					i++
				}
			}
		case '{', '[':
			if depth++; depth > maxDepth {
				return true
			}
		case '}', ']':
			depth--
		}
	}
	return false
}

// frame is an object or array open at some point of a walk.
type frame struct {
	object bool
	n      int    // values (array) or members (object) read so far
	key    string // object: the key of the member being read
	keyed  bool   // object: key has been read, its value not yet
}

// locate walks data with encoding/json's tokenizer. With offset >= 0 it
// returns a *DecodeError, without a message, whose path names the value
// ending at or after offset (where encoding/json reports a type error).
// Otherwise it returns the first syntax error, or the first value nested
// deeper than maxDepth, with its path and a message; cause is the error
// json.Unmarshal returned, used when the walk finds nothing.
func locate(data []byte, offset int64, cause error) *DecodeError {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var stack []frame
	done := false    // the top-level value has been read
	read := func() { // a value of the innermost open object or array is complete
		if len(stack) == 0 {
			done = true
			return
		}
		f := &stack[len(stack)-1]
		f.n++
		f.keyed = false
	}
	for {
		start := dec.InputOffset()
		tok, err := dec.Token()
		if err == io.EOF && done {
			break
		}
		if err != nil {
			return syntaxError(data, int(start), stack, done, err)
		}
		end := dec.InputOffset()
		if done { // a second top-level value
			return syntaxError(data, int(start), nil, true, nil)
		}
		var top *frame
		if len(stack) > 0 {
			top = &stack[len(stack)-1]
		}
		if d, ok := tok.(json.Delim); ok && (d == '}' || d == ']') {
			stack = stack[:len(stack)-1]
			read()
			continue
		}
		if top != nil && top.object && !top.keyed {
			top.key, top.keyed = tok.(string), true
			continue
		}
		if offset >= 0 && end >= offset {
			return &DecodeError{Path: pathOf(stack)}
		}
		if d, ok := tok.(json.Delim); ok {
			if len(stack) >= maxDepth {
				return &DecodeError{Path: pathOf(stack), Msg: "invalid JSON: values nested too deeply at offset " + strconv.Itoa(int(start))}
			}
			stack = append(stack, frame{object: d == '{'})
			continue
		}
		read()
	}
	if cause != nil {
		return &DecodeError{Msg: "invalid JSON: " + cause.Error()}
	}
	return &DecodeError{Msg: "invalid JSON"}
}

// syntaxError describes the syntax error the tokenizer met after start,
// the end of the last good token, with the path of the value it is in:
// the enclosing object or array when a delimiter or key is wrong, the
// member or element when its value is.
func syntaxError(data []byte, start int, stack []frame, done bool, err error) *DecodeError {
	i := skipSpace(data, start)
	// container is the path of the innermost open object or array.
	container := ""
	if len(stack) > 0 {
		container = pathOf(stack[:len(stack)-1])
	}
	expected := func(path, what string) *DecodeError {
		return &DecodeError{Path: path, Msg: "invalid JSON: expected " + what + ", found " + describe(data, i) + " at offset " + strconv.Itoa(i)}
	}
	if done {
		return &DecodeError{Msg: "invalid JSON: unexpected " + describe(data, i) + " after the top-level value at offset " + strconv.Itoa(i)}
	}
	if len(stack) > 0 {
		f := &stack[len(stack)-1]
		switch {
		case f.object && f.keyed:
			if i >= len(data) || data[i] != ':' {
				return expected(container, "':' after object key")
			}
			i = skipSpace(data, i+1)
		case f.object:
			if f.n > 0 {
				if i >= len(data) || data[i] != ',' {
					return expected(container, "',' or '}' after object member")
				}
				i = skipSpace(data, i+1)
			}
			if i >= len(data) || data[i] != '"' {
				return expected(container, "a string object key")
			}
			return &DecodeError{Path: container, Msg: tokenError(data, err)}
		case f.n > 0:
			if i >= len(data) || data[i] != ',' {
				return expected(container, "',' or ']' after array element")
			}
			i = skipSpace(data, i+1)
		}
	}
	// A value is wrong: the path names it.
	if i >= len(data) || !strings.ContainsRune(`"-0123456789tfn{[`, rune(data[i])) {
		return expected(pathOf(stack), "a JSON value")
	}
	return &DecodeError{Path: pathOf(stack), Msg: tokenError(data, err)}
}

// pathOf renders the path of the value being read in the innermost of
// stack: each frame adds the key or index of its member being read.
func pathOf(stack []frame) string {
	var b strings.Builder
	for _, f := range stack {
		if !f.object {
			b.WriteString("[" + strconv.Itoa(f.n) + "]")
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		if needsQuote(f.key) {
			b.WriteString(strconv.Quote(f.key))
		} else {
			b.WriteString(f.key)
		}
	}
	return b.String()
}

// tokenError describes an error met inside a string, number or literal.
func tokenError(data []byte, err error) string {
	var syntax *json.SyntaxError
	if errors.As(err, &syntax) {
		return "invalid JSON: " + syntax.Error() + " at offset " + strconv.FormatInt(syntax.Offset-1, 10)
	}
	return "invalid JSON: unexpected end of input at offset " + strconv.Itoa(len(data))
}

// skipSpace returns the offset of the first byte at or after i that is not
// JSON white space.
func skipSpace(data []byte, i int) int {
	for i < len(data) && (data[i] == ' ' || data[i] == '\t' || data[i] == '\n' || data[i] == '\r') {
		i++
	}
	return i
}

// describe names the byte at offset i for an error message.
func describe(data []byte, i int) string {
	if i >= len(data) {
		return "end of input"
	}
	return fmt.Sprintf("character %q", data[i])
}

// firstByte returns the first byte of data that is not white space, or 0.
func firstByte(data []byte) byte {
	if i := skipSpace(data, 0); i < len(data) {
		return data[i]
	}
	return 0
}

// kind names the JSON type of a value that starts with c.
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

// goKind names the JSON type a Go type is decoded from.
func goKind(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	}
	return "an object"
}

// jsonValue renders the Value of a json.UnmarshalTypeError ("string",
// "number 60.5", ...) for a message.
func jsonValue(v string) string {
	switch v {
	case "object", "array":
		return "an " + v
	case "bool":
		return "a boolean"
	case "string", "number":
		return "a " + v
	}
	if n, ok := strings.CutPrefix(v, "number "); ok {
		return n
	}
	return v
}
