package policy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/medicbot/medic/remediations"
)

// Catalog gives the parameter schema of each action a policy may name.
// remediations.Catalog and *remediations.Registry satisfy it.
type Catalog interface {
	Schema(name string) (remediations.Schema, bool)
}

// Parse decodes, validates and compiles one policy file. file names the
// source in errors. On failure the error is an *Errors listing every problem.
func Parse(file string, data []byte, c Catalog) (*Set, error) {
	var b builder
	b.add(file, data, c)
	return b.build()
}

// Load parses every *.yaml and *.yml file at the root of fsys into one Set;
// policy names are unique across files. Subdirectories (such as tests/, the
// fixtures of `medic policy test`) are not read. On failure the error is an
// *Errors listing every problem of every file.
func Load(fsys fs.FS, c Catalog) (*Set, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("read policy directory: %w", err)
	}
	var b builder
	b.aliases, b.errs = loadAliases(fsys)
	for _, e := range entries {
		if e.IsDir() || !IsPolicyFile(e.Name()) {
			continue
		}
		data, err := fs.ReadFile(fsys, e.Name())
		if err != nil {
			b.errs = append(b.errs, &Error{File: e.Name(), Msg: err.Error()})
			continue
		}
		b.add(e.Name(), data, c)
	}
	if b.files == 0 && len(b.errs) == 0 {
		return nil, &Errors{{Msg: "no policy files (*.yaml, *.yml) found"}}
	}
	return b.build()
}

// IsPolicyFile reports whether Load reads a file of this name as
// policies (AccountsFile is read too, as the account aliases).
func IsPolicyFile(name string) bool {
	ext := path.Ext(name)
	return (ext == ".yaml" || ext == ".yml") && !strings.HasPrefix(name, ".") && name != AccountsFile
}

// builder gathers the policies and problems of one or more files.
type builder struct {
	files    int
	policies []*Policy
	seen     map[string]*Policy
	errs     Errors
	aliases  map[string][]string
}

func (b *builder) add(file string, data []byte, c Catalog) {
	b.files++
	raw, root, errs := decode(file, data)
	for _, e := range errs {
		b.errs = append(b.errs, e.Error)
	}
	if raw == nil {
		return
	}
	var v validator
	v.catalog = c
	v.aliases = b.aliases
	policies := v.file(raw)
	// Problems the decoder already reported are not repeated by validation
	// (a field that failed to decode looks empty to it).
	var decoded []fieldPath
	for _, e := range errs {
		decoded = append(decoded, e.path)
	}
	for _, pe := range v.errs {
		if slices.ContainsFunc(decoded, func(d fieldPath) bool { return pe.path.hasPrefix(d) || d.hasPrefix(pe.path) }) {
			continue
		}
		b.errs = append(b.errs, &Error{File: file, Line: LineOf(root, pe.path), Path: pe.path.String(), Msg: pe.msg})
	}
	if b.seen == nil {
		b.seen = make(map[string]*Policy)
	}
	for i, p := range policies {
		p.File = file
		p.Line = LineOf(root, fieldPath{"policies", i})
		p.pos = i
		if len(p.Match.Accounts) > 0 {
			p.accountsLine = LineOf(root, fieldPath{"policies", i, "match", "accounts"})
		}
		if len(p.Match.Regions) > 0 {
			p.regionsLine = LineOf(root, fieldPath{"policies", i, "match", "regions"})
		}
		if p.Name == "" {
			continue
		}
		if first, dup := b.seen[p.Name]; dup {
			b.errs = append(b.errs, &Error{File: file, Line: LineOf(root, fieldPath{"policies", i, "name"}), Path: fieldPath{"policies", i, "name"}.String(),
				Msg: fmt.Sprintf("%q is already the name of the policy at %s:%d; names are unique across files", p.Name, first.File, first.Line)})
			continue
		}
		b.seen[p.Name] = p
		b.policies = append(b.policies, p)
	}
}

func (b *builder) build() (*Set, error) {
	if len(b.errs) > 0 {
		b.errs.sort()
		errs := b.errs
		return nil, &errs
	}
	return newSet(b.policies), nil
}

// decodeError is a decoding problem with the path it was found at.
type decodeError struct {
	*Error
	path fieldPath
}

// decode reads data strictly into the raw types. It returns the raw file
// (nil when nothing can be validated), the YAML node tree for line numbers
// and the decoding problems.
func decode(file string, data []byte) (*rawFile, *yaml.Node, []decodeError) {
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil, []decodeError{{Error: &Error{File: file, Msg: "empty file: want version: 1 and policies"}}}
		}
		return nil, nil, []decodeError{yamlError(file, err.Error(), nil, rawFields)}
	}
	var root *yaml.Node
	if len(doc.Content) > 0 {
		root = doc.Content[0]
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, nil, []decodeError{{Error: &Error{File: file, Line: extra.Line, Msg: "more than one YAML document (---): write one document per file"}}}
	} else if !errors.Is(err, io.EOF) {
		return nil, nil, []decodeError{yamlError(file, err.Error(), nil, rawFields)}
	}

	var raw rawFile
	strict := yaml.NewDecoder(bytes.NewReader(data))
	strict.KnownFields(true)
	err := strict.Decode(&raw)
	if err == nil {
		return &raw, root, nil
	}
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return nil, root, []decodeError{yamlError(file, err.Error(), nil, rawFields)}
	}
	nodes := locate(root)
	out := make([]decodeError, 0, len(te.Errors))
	partial := true // the decoder went on past every problem
	for _, msg := range te.Errors {
		out = append(out, yamlError(file, msg, nodes, rawFields))
		if !strings.Contains(msg, "cannot unmarshal") && !strings.Contains(msg, "not found in type") {
			partial = false
		}
	}
	if !partial {
		return nil, root, out
	}
	return &raw, root, out
}
