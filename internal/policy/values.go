package policy

import (
	"fmt"
	"slices"
	"strings"
	"text/template/parse"
)

// Values is the dot of a Template: a fixed set of named values, each a
// string, an int, a float64 or a bool. Templates look them up by name, so
// rendering needs no reflection (see template.go).
type Values map[string]any

// names lists the fields of v as a template writes them: ".A .B".
func (v Values) names() string {
	keys := make([]string, 0, len(v))
	for k := range v {
		keys = append(keys, "."+k)
	}
	slices.Sort(keys)
	return strings.Join(keys, " ")
}

// Template is a template over Values, for texts other than step
// parameters (the reading rules of package evidence). It has the syntax
// and functions of parameter templates: fields, pipelines, if/else, $ and
// the helpers and built-ins listed in the package documentation.
type Template struct {
	t *paramTemplate
	// required are the fields used outside {{ if }}: see Required.
	required []string
}

// ParseTemplate parses text, a template over Values with the given field
// names. A syntax error, an unknown field or a construct that templates do
// not support is an error that says which; the error does not name a file
// or line, which the caller adds.
func ParseTemplate(name, text string, fields []string) (*Template, error) {
	known := "fields: ." + strings.Join(fields, " .")
	c := checker{
		field: func(f string) error {
			if !slices.Contains(fields, f) {
				return fmt.Errorf("unknown field .%s (%s)", f, known)
			}
			return nil
		},
		supported: "templates support ." + strings.Join(fields, " .") + ", |, if/else and the functions " +
			strings.Join(funcList, ", "),
	}
	pt, err := parseChecked(name, text, c)
	if err != nil {
		return nil, err
	}
	t := &Template{t: pt}
	t.required = requiredFields(pt.tree.Root, nil)
	return t, nil
}

// funcList names the functions templates may call, sorted.
var funcList = sortedFuncs()

func sortedFuncs() []string {
	out := make([]string, 0, len(templateFuncs))
	for name := range templateFuncs {
		out = append(out, name)
	}
	slices.Sort(out)
	return out
}

// Required lists, sorted and once each, the fields the template uses
// outside {{ if }} blocks (their conditions included): the fields it
// cannot be rendered without. A field used only inside an if may be
// unknown: the if decides.
func (t *Template) Required() []string { return t.required }

// Execute renders t with dot set to v. It fails when the template uses a
// field v lacks or a function fails on v's values.
func (t *Template) Execute(v Values) (string, error) { return t.t.run(v, false) }

// String returns the template as written (normalised by the parser).
func (t *Template) String() string { return t.t.String() }

// requiredFields adds to out the fields n uses outside if blocks.
func requiredFields(n parse.Node, out []string) []string {
	add := func(name string) {
		if !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	var arg func(parse.Node)
	var pipe func(*parse.PipeNode)
	arg = func(a parse.Node) {
		switch a := a.(type) {
		case *parse.FieldNode:
			add(a.Ident[0])
		case *parse.VariableNode:
			if len(a.Ident) > 1 {
				add(a.Ident[1])
			}
		case *parse.ChainNode:
			arg(a.Node)
		case *parse.PipeNode:
			pipe(a)
		}
	}
	pipe = func(p *parse.PipeNode) {
		for _, cmd := range p.Cmds {
			for _, a := range cmd.Args {
				arg(a)
			}
		}
	}
	switch n := n.(type) {
	case *parse.ListNode:
		for _, c := range n.Nodes {
			out = requiredFields(c, out)
		}
	case *parse.ActionNode:
		pipe(n.Pipe)
	}
	slices.Sort(out)
	return out
}
