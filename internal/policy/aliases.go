package policy

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"regexp"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// AccountsFile is the shared accounts file Load reads beside the policies:
//
//	accounts:
//	  prod: ["111111111111", "222222222222"]
//	  staging: ["333333333333"]
//
// A policy's match.accounts may then name an alias as "@prod": it matches
// every account the alias lists. It is not a policy file.
const AccountsFile = "accounts.yaml"

var (
	aliasName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)
	accountID = regexp.MustCompile(`^[0-9]{12}$`)
)

// loadAliases reads fsys's AccountsFile, if any: the aliases and every
// problem, each at its file:line.
func loadAliases(fsys fs.FS) (map[string][]string, Errors) {
	data, err := fs.ReadFile(fsys, AccountsFile)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, nil
	case err != nil:
		return nil, Errors{{File: AccountsFile, Msg: err.Error()}}
	}
	return parseAliases(data)
}

func parseAliases(data []byte) (map[string][]string, Errors) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, Errors{{File: AccountsFile, Msg: "not YAML: " + err.Error()}}
	}
	if len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, Errors{{File: AccountsFile, Msg: "want a mapping: accounts: {ALIAS: [ACCOUNT-ID, ...]}"}}
	}
	top := doc.Content[0]
	out := map[string][]string{}
	var errs Errors
	bad := func(n *yaml.Node, path, format string, args ...any) {
		errs = append(errs, &Error{File: AccountsFile, Line: n.Line, Path: path, Msg: fmt.Sprintf(format, args...)})
	}
	var accounts *yaml.Node
	for i := 0; i+1 < len(top.Content); i += 2 {
		if k := top.Content[i]; k.Value != "accounts" {
			bad(k, k.Value, "unknown field (the file has one field, accounts)")
			continue
		}
		accounts = top.Content[i+1]
	}
	if accounts == nil || accounts.Kind != yaml.MappingNode {
		bad(top, "accounts", "required: a mapping of alias to account IDs, e.g. accounts: {prod: [\"111111111111\"]}")
		return nil, errs
	}
	for i := 0; i+1 < len(accounts.Content); i += 2 {
		k, v := accounts.Content[i], accounts.Content[i+1]
		path := "accounts." + k.Value
		if !aliasName.MatchString(k.Value) {
			bad(k, path, "alias %q: want lower-case letters, digits, - and _", k.Value)
			continue
		}
		if _, dup := out[k.Value]; dup {
			bad(k, path, "alias %q is defined twice", k.Value)
			continue
		}
		ids := []*yaml.Node{v}
		if v.Kind == yaml.SequenceNode {
			ids = v.Content
		}
		if len(ids) == 0 {
			bad(v, path, "lists no account")
		}
		list := []string{}
		for j, id := range ids {
			if id.Kind != yaml.ScalarNode || !accountID.MatchString(id.Value) {
				bad(id, fmt.Sprintf("%s[%d]", path, j), "want a 12-digit account ID (quoted), got %q", id.Value)
				continue
			}
			list = append(list, id.Value)
		}
		out[k.Value] = list
	}
	return out, errs
}

// expandAccounts replaces each "@alias" of a policy's match.accounts by the
// alias's accounts; an unknown alias is a problem at that entry.
func (v *validator) expandAccounts(p fieldPath, patterns []string) []string {
	var out []string
	for i, s := range patterns {
		name, isAlias := strings.CutPrefix(s, "@")
		if !isAlias {
			out = append(out, s)
			continue
		}
		ids, ok := v.aliases[name]
		if !ok {
			known := slices.Sorted(maps.Keys(v.aliases))
			if len(known) == 0 {
				v.add(p.at(i), "unknown account alias %q: no %s defines aliases", s, AccountsFile)
			} else {
				v.add(p.at(i), "unknown account alias %q (%s defines %s)", s, AccountsFile, "@"+strings.Join(known, ", @"))
			}
			continue
		}
		out = append(out, ids...)
	}
	return out
}
