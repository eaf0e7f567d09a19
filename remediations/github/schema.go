package github

import (
	"regexp"

	"github.com/medicbot/medic/remediations"
)

var repoPattern = regexp.MustCompile(`^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$`)

// RollbackSchema declares the parameters of github.rollback.
func RollbackSchema() remediations.Schema {
	return remediations.Schema{
		Description: "Roll back the last GitHub deploy of an environment to the newest deploy that reached success, was live before the alarm's spike began and is not a suspect: redeploy its SHA, dispatch a workflow, or open a revert pull request. " +
			"The spike is taken to begin at the start of the alarm's evaluation range, (n+1) periods before it fired, n being the datapoints CloudWatch evaluated (at least 1; no period known: when it fired). " +
			"Suspects are the deploys created or first successful from window before the spike up to the alarm; they are never targets. " +
			"A deploy after the alarm (a hotfix, say) puts the plan on hold: it is proposed for approval, never run automatically, and the card names that deploy.",
		Params: []remediations.Param{
			{Name: "repo", Type: remediations.TypeString, Required: true, Description: "owner/name of the repository"},
			{Name: "environment", Type: remediations.TypeString, Required: true, Description: "deployment environment, e.g. production"},
			{Name: "strategy", Type: remediations.TypeString, Enum: []string{"redeploy", "workflow", "revert-pr"}, Default: "redeploy", Description: "how to roll back"},
			{Name: "workflow", Type: remediations.TypeString, Description: "workflow file name to dispatch (strategy workflow)"},
			{Name: "ref", Type: remediations.TypeString, Description: "git ref the workflow runs on (strategy workflow; default the repository's default branch)"},
			{Name: "sha_input", Type: remediations.TypeString, Default: "sha", Description: "workflow input that carries the SHA to deploy (strategy workflow)"},
			{Name: "inputs", Type: remediations.TypeStringMap, Description: "extra workflow inputs (strategy workflow)"},
			{Name: "branch", Type: remediations.TypeString, Description: "branch the revert pull request targets (strategy revert-pr; default the repository's default branch)"},
			{Name: "auto_merge", Type: remediations.TypeBool, Default: false, Widens: true, Description: "enable auto-merge on the revert pull request"},
			{Name: "window", Type: remediations.TypeDuration, Default: "60m", Widens: true, Description: "how far before the spike began to look for suspect deploys, which are never rollback targets"},
			{Name: "incident", Type: remediations.TypeString, Description: "incident id recorded in the rollback deployment's payload and description (default: the alarm's dedup key)"},
		},
		Check: func(p remediations.Params) []error {
			var errs []error
			if !repoPattern.MatchString(p.String("repo")) {
				errs = append(errs, &remediations.FieldError{Param: "repo", Msg: "must be owner/name, got " + p.String("repo")})
			}
			if p.String("strategy") == "workflow" && p.String("workflow") == "" {
				errs = append(errs, &remediations.FieldError{Param: "workflow", Msg: "required when strategy is workflow"})
			}
			return errs
		},
		Reversible: true,
		IAM: []remediations.IAMPermission{
			{Actions: []string{"secretsmanager:GetSecretValue"}, Resource: "arn:aws:secretsmanager:REGION:ACCOUNT:secret:medic/github*"},
		},
	}
}
