//go:build medic_examples

package policies

import "github.com/medicbot/medic/examples"

// A medic_examples build (the end-to-end tests' bootstraps) embeds the
// example policies in place of the deployed ones.
func init() {
	FS = examples.FS
	Dir = "examples"
}
