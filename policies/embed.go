// Package policies holds medic's remediation policies, the YAML files SREs
// change through pull requests, embedded into the binaries: what is merged
// is what runs. It also holds the JSON Schema editors use (schema.json,
// generated from the parser's types and the built-in actions) and the
// fixtures of `medic policy test` (tests/).
//
// Change a policy, then run `go test ./policies/` (or `medic policy lint
// policies` and `medic policy test policies`).
package policies

import "embed"

// FS holds the policy files (*.yaml at the root), schema.json and the
// fixtures under tests/. policy.Load reads the policies and skips tests/.
//
//go:embed *.yaml schema.json tests
var FS embed.FS

//go:generate go test -run TestSchemaUpToDate -update .
