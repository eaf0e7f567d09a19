// Package policies holds medic's remediation policies, the YAML files SREs
// change through pull requests, embedded into the binaries: what is merged
// is what runs. It also holds the JSON Schema editors use (schema.json,
// generated from the parser's types and the built-in actions) and the
// fixtures of `medic policy test` (tests/).
//
// A fresh clone holds one shadow-only policy (starter.yaml), so a first
// deploy changes nothing; examples/ shows policies that act.
//
// Change a policy, then run `go test ./policies/` (or `medic policy lint
// policies` and `medic policy test policies`).
package policies

import (
	"embed"
	"io/fs"
)

//go:embed *.yaml schema.json tests
var embedded embed.FS

// FS holds the policy files (*.yaml at the root), schema.json and the
// fixtures under tests/. policy.Load reads the policies and skips tests/.
//
// A binary built with the medic_examples build tag embeds examples/
// instead (examples.go): only the end-to-end tests build that way, to
// drive the built Lambdas with the example policies.
var FS fs.FS = embedded

// Dir names the directory FS holds, for messages: "policies", or
// "examples" in a medic_examples build.
var Dir = "policies"

//go:generate go test -run TestSchemaUpToDate -update .
