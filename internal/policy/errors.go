package policy

import (
	"cmp"
	"errors"
	"io"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Error is one problem in a policy file.
type Error struct {
	File string // as given to Parse, or the path inside the fs.FS given to Load
	Line int    // 1-based; 0 when unknown
	Path string // e.g. policies[0].steps[1].params.max; "" for the whole file
	Msg  string
}

// Error formats e as "file:line: path: msg", leaving out what is unknown.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		b.WriteString(":" + strconv.Itoa(e.Line))
	}
	if b.Len() > 0 {
		b.WriteString(": ")
	}
	if e.Path != "" {
		b.WriteString(e.Path + ": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Errors is every problem found in a set of policy files, sorted by file and
// line. Parse and Load return it as *Errors.
type Errors []*Error

// Error prints one problem per line.
func (es *Errors) Error() string {
	lines := make([]string, len(*es))
	for i, e := range *es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap returns the problems, for errors.As on a single *Error.
func (es *Errors) Unwrap() []error {
	out := make([]error, len(*es))
	for i, e := range *es {
		out[i] = e
	}
	return out
}

func (es Errors) sort() {
	slices.SortStableFunc(es, func(a, b *Error) int {
		return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line))
	})
}

// fieldPath is a location in a policy file: string keys and int indexes.
type fieldPath []any

func (p fieldPath) key(k string) fieldPath { return append(p[:len(p):len(p)], k) }
func (p fieldPath) at(i int) fieldPath     { return append(p[:len(p):len(p)], i) }

var plainKey = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// String renders p as policies[0].steps[1].params.max; keys that are not
// plain words are quoted: tags["app.kubernetes.io/name"].
func (p fieldPath) String() string {
	var b strings.Builder
	for _, e := range p {
		switch e := e.(type) {
		case int:
			b.WriteString("[" + strconv.Itoa(e) + "]")
		case string:
			if !plainKey.MatchString(e) {
				b.WriteString("[" + strconv.Quote(e) + "]")
				continue
			}
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(e)
		}
	}
	return b.String()
}

// hasPrefix reports whether q is p or below it.
func (p fieldPath) hasPrefix(q fieldPath) bool {
	return len(q) <= len(p) && slices.Equal(p[:len(q)], q)
}

// LineOf returns the line of the node at path (string keys, int indexes)
// under root, or of the deepest ancestor of path present in the file (a
// missing field is reported where its parent is). Aliases are followed, so
// a field written once under an anchor is found wherever it is used.
func LineOf(root *yaml.Node, path []any) int {
	n := root
	line := 0
	if n != nil {
		line = n.Line
	}
	for _, e := range path {
		if n == nil {
			break
		}
		if n.Kind == yaml.AliasNode && n.Alias != nil {
			n = n.Alias
		}
		var next *yaml.Node
		switch e := e.(type) {
		case string:
			if n.Kind == yaml.MappingNode {
				for i := 0; i+1 < len(n.Content); i += 2 {
					if n.Content[i].Value == e {
						line = n.Content[i].Line
						next = n.Content[i+1]
						break
					}
				}
			}
		case int:
			if n.Kind == yaml.SequenceNode && e < len(n.Content) {
				next = n.Content[e]
				line = next.Line
			}
		}
		n = next
	}
	return line
}

// node is a node of the file with its path, for finding where a decoding
// error the YAML library reports by line only belongs.
type node struct {
	path fieldPath
	key  *yaml.Node // the mapping key naming the node, if any
	node *yaml.Node
}

// locate lists every node under root in document order. Aliases are not
// followed.
func locate(root *yaml.Node) []node {
	var out []node
	var walk func(n, key *yaml.Node, p fieldPath)
	walk = func(n, key *yaml.Node, p fieldPath) {
		out = append(out, node{p, key, n})
		switch n.Kind {
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				walk(n.Content[i+1], n.Content[i], p.key(n.Content[i].Value))
			}
		case yaml.SequenceNode:
			for i, c := range n.Content {
				walk(c, nil, p.at(i))
			}
		}
	}
	if root != nil {
		walk(root, nil, nil)
	}
	return out
}

var (
	yamlLineMsg   = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)
	unmarshalMsg  = regexp.MustCompile("^cannot unmarshal !!(\\w+)(?: `(.*)`)? into (.+)$")
	notFoundMsg   = regexp.MustCompile(`^field (\S+) not found in type (\S+)$`)
	duplicatedMsg = regexp.MustCompile(`^mapping key "(.*)" already defined at line (\d+)$`)
)

// yamlError turns one message of the YAML library ("line 3: cannot
// unmarshal !!seq into string") into an Error with a path and a message in
// the policy's terms rather than Go's. fields lists the YAML field names of
// the decoded struct types (see yamlFieldsOf).
func yamlError(file, msg string, nodes []node, fields map[string][]string) decodeError {
	e := &Error{File: file, Msg: strings.TrimPrefix(msg, "yaml: ")}
	m := yamlLineMsg.FindStringSubmatch(msg)
	if m == nil {
		return decodeError{Error: e}
	}
	e.Line, _ = strconv.Atoi(m[1])
	e.Msg = m[2]
	if m := notFoundMsg.FindStringSubmatch(e.Msg); m != nil {
		e.Msg = "unknown field " + strconv.Quote(m[1]) + knownFields(fields[m[2]])
		return located(e, findKey(nodes, e.Line, m[1]))
	}
	if m := duplicatedMsg.FindStringSubmatch(e.Msg); m != nil {
		e.Msg = "given twice (first at line " + m[2] + ")"
		return located(e, findKey(nodes, e.Line, m[1]))
	}
	if m := unmarshalMsg.FindStringSubmatch(e.Msg); m != nil {
		got := map[string]string{"seq": "a list", "map": "a mapping", "null": "nothing"}[m[1]]
		if got == "" {
			got = strconv.Quote(m[2])
		}
		e.Msg = "must be " + goTypeWords(m[3]) + ", got " + got
		return located(e, findValue(nodes, e.Line, m[1], m[2]))
	}
	return located(e, findValue(nodes, e.Line, "", ""))
}

func located(e *Error, p fieldPath) decodeError {
	e.Path = p.String()
	return decodeError{Error: e, path: p}
}

func findKey(nodes []node, line int, name string) fieldPath {
	for _, l := range nodes {
		if l.key != nil && l.key.Line == line && l.key.Value == name {
			return l.path
		}
	}
	return findValue(nodes, line, "", "")
}

// findValue returns the path of the last node on line whose kind (and
// value, for scalars) matches what the library reported: the last, because
// a block mapping starts on the line of its first key, so the containers of
// the culprit often share its line.
func findValue(nodes []node, line int, tag, value string) fieldPath {
	var found, other fieldPath
	for _, l := range nodes {
		n := l.node
		if n.Line != line {
			continue
		}
		other = l.path
		switch {
		case tag == "seq" && n.Kind == yaml.SequenceNode,
			tag == "map" && n.Kind == yaml.MappingNode,
			tag != "seq" && tag != "map" && n.Kind == yaml.ScalarNode && (value == "" || n.Value == value):
			found = l.path
		}
	}
	if found == nil {
		return other
	}
	return found
}

// goTypeWords describes a Go type of the raw structs in words.
func goTypeWords(t string) string {
	switch {
	case t == "string":
		return "a string"
	case t == "policy.stringList":
		return "a string or a list of strings"
	case t == "int" || t == "*int":
		return "a whole number"
	case t == "bool" || t == "*bool":
		return "true or false"
	case strings.HasPrefix(t, "map[string]string"):
		return "a mapping of strings"
	case strings.HasPrefix(t, "map["), strings.HasPrefix(t, "policy."), strings.HasPrefix(t, "*policy."):
		return "a mapping"
	case strings.HasPrefix(t, "[]"), strings.HasPrefix(t, "*[]"):
		return "a list"
	case strings.HasPrefix(t, "*"):
		return goTypeWords(t[1:])
	case strings.Contains(t, "."):
		// A struct of another package decoding a file with DecodeErrors.
		return "a mapping"
	}
	return t
}

func knownFields(fields []string) string {
	if len(fields) == 0 {
		return ""
	}
	return " (known: " + strings.Join(fields, ", ") + ")"
}

// DecodeErrors reports err, what a yaml.v3 decoder returned for data (file
// as it should be named), the way policy files report their problems: one
// Error per problem, with the line, the field's path (cases[0].expect[0].bogus)
// and a message in the file's terms rather than Go's ("unknown field "bogus"
// (known: policy, action, params)", "must be a list, got a mapping"). types
// are the struct types being decoded, for the known fields of unknown-field
// messages. Other YAML files medic reads (policy fixtures) use it so that
// their errors read like policy errors.
func DecodeErrors(file string, data []byte, err error, types ...reflect.Type) Errors {
	if err == nil {
		return nil
	}
	if errors.Is(err, io.EOF) {
		return Errors{{File: file, Msg: "empty file"}}
	}
	var root *yaml.Node
	var doc yaml.Node
	if yaml.Unmarshal(data, &doc) == nil && len(doc.Content) > 0 {
		root = doc.Content[0]
	}
	nodes := locate(root)
	fields := yamlFieldsOf(types...)
	msgs := []string{err.Error()}
	var te *yaml.TypeError
	if errors.As(err, &te) {
		msgs = te.Errors
	}
	out := make(Errors, 0, len(msgs))
	for _, msg := range msgs {
		out = append(out, yamlError(file, msg, nodes, fields).Error)
	}
	out.sort()
	return out
}
