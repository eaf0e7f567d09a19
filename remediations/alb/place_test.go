package alb

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/medicbot/medic/remediations"
)

// at is a rule named by its priority ("r1") with conditions.
func at(prio int32, conds ...types.RuleCondition) listenerRule {
	return listenerRule{ARN: fmt.Sprintf("r%d", prio), Priority: prio, Conditions: conds}
}

func TestPlace(t *testing.T) {
	all := requests{Paths: []string{"/*"}}
	shop := requests{Paths: []string{"/*"}, Hosts: []string{"shop.example.com"}}
	def := listenerRule{ARN: "default", Default: true}
	admin := hostCond("admin.example.com")
	for _, tc := range []struct {
		name  string
		rules []listenerRule
		q     requests
		n     int
		prios []int32
		moves string // "r1:1->2 r3:3->5"
	}{
		{"an empty listener gives 1..n", []listenerRule{def}, all, 3, []int32{1, 2, 3}, ""},
		{"rules from 10 up leave 1..9 free", []listenerRule{at(10, pathCond("/api/*")), at(11, pathCond("/b")), def}, all, 2, []int32{1, 2}, ""},
		{"a catch-all at priority 1 moves to 2", []listenerRule{at(1, pathCond("/*")), def}, all, 1, []int32{1}, "r1:1->2"},
		{"rules at 1 and 3 move, in order, into free numbers behind medic's", []listenerRule{at(1, pathCond("/health")), at(3, pathCond("/static/*")), at(10, pathCond("/api/*"))}, all, 2, []int32{1, 2}, "r1:1->4 r3:3->5"},
		{"a rule for another host stays ahead", []listenerRule{at(1, admin), def}, shop, 1, []int32{2}, ""},
		{"a rule for another host stays ahead of a moved catch-all", []listenerRule{at(1, admin), at(2, pathCond("/*"))}, shop, 1, []int32{2}, "r2:2->3"},
		{"free numbers ahead of the first shadowing rule are used first", []listenerRule{at(1, admin), at(3, pathCond("/*")), at(4, pathCond("/x"))}, shop, 3, []int32{2, 3, 4}, "r3:3->5 r4:4->6"},
		{"a dense run moves as a block, a rule that shadows nothing with it", []listenerRule{at(1, pathCond("/*")), at(2, pathCond("/a")), at(3, pathCond("/b")), at(4, admin), at(10, pathCond("/c"))}, shop, 1, []int32{1}, "r1:1->5 r2:2->6 r3:3->7 r4:4->8"},
		{"a rule medic cannot evaluate moves", []listenerRule{at(1, types.RuleCondition{Field: aws.String("tls-version")})}, all, 1, []int32{1}, "r1:1->2"},
		{"a method-only rule moves", []listenerRule{at(1, methodCond("GET"))}, all, 1, []int32{1}, "r1:1->2"},
		{"rules behind the free numbers stay", []listenerRule{at(5, pathCond("/*"))}, all, 2, []int32{1, 2}, ""},
		{"rules in any order are placed by priority", []listenerRule{def, at(3, pathCond("/static/*")), at(10, pathCond("/api/*")), at(1, pathCond("/health"))}, all, 2, []int32{1, 2}, "r1:1->4 r3:3->5"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pl, err := place(tc.rules, tc.q, tc.n)
			if err != nil {
				t.Fatalf("place: %v", err)
			}
			var moves []string
			for _, m := range pl.Moves {
				moves = append(moves, fmt.Sprintf("%s:%d->%d", m.ARN, m.From, m.To))
			}
			if !reflect.DeepEqual(pl.Priorities, tc.prios) || strings.Join(moves, " ") != tc.moves {
				t.Errorf("place = priorities %v, moves %q; want %v, %q", pl.Priorities, strings.Join(moves, " "), tc.prios, tc.moves)
			}
		})
	}
}

func TestPlaceSaysWhyARuleMoves(t *testing.T) {
	rules := []listenerRule{at(1, pathCond("/*")), at(2, hostCond("admin.example.com")), at(3, types.RuleCondition{Field: aws.String("tls-version")})}
	pl, err := place(rules, requests{Paths: []string{"/*"}, Hosts: []string{"shop.example.com"}}, 1)
	if err != nil || len(pl.Moves) != 3 {
		t.Fatalf("place = %+v, %v; want three moves", pl, err)
	}
	for i, want := range []string{"answers maintenance requests", "keeps its place behind a rule that moves", "may answer maintenance requests (condition tls-version cannot be evaluated)"} {
		if pl.Moves[i].Why != want {
			t.Errorf("move %d why = %q, want %q", i, pl.Moves[i].Why, want)
		}
	}
	var named []string
	for _, s := range pl.Shadows {
		named = append(named, s.ARN)
	}
	if !reflect.DeepEqual(named, []string{"r1", "r3"}) {
		t.Errorf("shadows = %v, want r1 and r3 (r2 is for another host)", named)
	}
	if s := pl.Shadows[1].String(); !strings.Contains(s, "rule r3 at priority 3 (tls-version  -> ") || !strings.Contains(s, "[assumed to match: condition tls-version cannot be evaluated]") {
		t.Errorf("shadow text = %q, want the rule, its priority and conditions, and the assumption", s)
	}
}

func TestPlaceFailsWithoutRoom(t *testing.T) {
	all := requests{Paths: []string{"/*"}}
	var full []listenerRule
	for p := int32(minPriority); p <= maxPriority; p++ {
		if p != 7 {
			full = append(full, at(p, pathCond(fmt.Sprintf("/p%d", p))))
		}
	}
	if _, err := place(full, all, 1); !errors.Is(err, remediations.ErrInvalid) || !strings.Contains(err.Error(), "ahead of rule r1 at priority 1") {
		t.Errorf("one free priority, a shadowing rule at 1: err = %v, want ErrInvalid naming the rule", err)
	}
	if pl, err := place(full, requests{Paths: []string{"/other"}}, 1); err != nil || !reflect.DeepEqual(pl.Priorities, []int32{7}) {
		t.Errorf("one free priority, nothing shadowing: got %+v, %v; want [7]", pl, err)
	}
	if _, err := place(full, requests{Paths: []string{"/other"}}, 2); !errors.Is(err, remediations.ErrInvalid) || !strings.Contains(err.Error(), "only 1 free priorities") {
		t.Errorf("one free priority, two rules: err = %v, want ErrInvalid saying only 1 is free", err)
	}
	for _, n := range []int{0, maxPriority + 1} {
		if _, err := place(nil, all, n); !errors.Is(err, remediations.ErrInvalid) {
			t.Errorf("%d rules: err = %v, want ErrInvalid", n, err)
		}
	}
}
