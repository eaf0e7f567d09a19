package policy

// Parameter templates are parsed with text/template/parse and evaluated here,
// not by text/template. text/template looks fields up with
// reflect.Value.MethodByName and a run-time name; once a binary can reach that
// call, the Go linker must keep every exported method of every type stored in
// an interface (all of the AWS SDK), which made each Lambda binary twice its
// size. This evaluator knows the shape of TemplateData and calls a fixed table
// of helpers, so it needs no reflection. internal/deploycheck guards the
// binaries against the call coming back.

import (
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"text/template/parse"
	"time"

	"github.com/medicbot/medic/internal/alarm"
)

// TemplateData is what a parameter template sees as dot, e.g.
// "{{ .Dimensions.ServiceName }}". A missing map key is an error when the
// step is rendered; use `index .Tags "name"` to get "" instead.
type TemplateData struct {
	Name          string
	ARN           string
	Account       string
	Region        string
	State         string
	PreviousState string
	Reason        string
	Description   string
	// Timestamp prints as time.Time does; .Timestamp.Format "2006-01-02",
	// .Timestamp.Unix and .Timestamp.UTC work too.
	Timestamp time.Time
	// Dimensions merges the dimensions of every metric, first one wins.
	Dimensions map[string]string
	Tags       map[string]string
	// Metrics have the fields .ID .Namespace .Name .Dimensions .Stat .Period.
	Metrics []alarm.Metric
	// HTTP5xx (.Source, .Code) is the zero value when the alarm is not an
	// ALB 5xx alarm.
	HTTP5xx alarm.HTTP5xx
}

// NewTemplateData returns the template view of a.
func NewTemplateData(a *alarm.Alarm) *TemplateData {
	d := &TemplateData{
		Name:          a.Name,
		ARN:           a.ARN,
		Account:       a.Account,
		Region:        a.Region,
		State:         string(a.State),
		PreviousState: string(a.PreviousState),
		Reason:        a.Reason,
		Description:   a.Description,
		Timestamp:     a.Timestamp,
		Dimensions:    a.Dimensions(),
		Tags:          a.Tags,
		Metrics:       a.Metrics,
	}
	if a.HTTP5xx != nil {
		d.HTTP5xx = *a.HTTP5xx
	}
	return d
}

// alarmFields lists the fields of TemplateData for error messages.
const alarmFields = "the alarm (fields: .Name .ARN .Account .Region .State .PreviousState .Reason .Description .Timestamp .Dimensions .Tags .Metrics .HTTP5xx)"

// field returns the field called name: the explicit switch is what lets the
// evaluator do without reflection.
func (d *TemplateData) field(name string) (any, bool) {
	switch name {
	case "Name":
		return d.Name, true
	case "ARN":
		return d.ARN, true
	case "Account":
		return d.Account, true
	case "Region":
		return d.Region, true
	case "State":
		return d.State, true
	case "PreviousState":
		return d.PreviousState, true
	case "Reason":
		return d.Reason, true
	case "Description":
		return d.Description, true
	case "Timestamp":
		return d.Timestamp, true
	case "Dimensions":
		return d.Dimensions, true
	case "Tags":
		return d.Tags, true
	case "Metrics":
		return d.Metrics, true
	case "HTTP5xx":
		return d.HTTP5xx, true
	}
	return nil, false
}

// sampleData is the alarm templates are tried on at load time, to catch
// unknown fields and misused functions before an alarm fires.
var sampleData = &TemplateData{
	Name: "sample-alarm", ARN: "arn:aws:cloudwatch:us-east-1:123456789012:alarm:sample-alarm",
	Account: "123456789012", Region: "us-east-1", State: "ALARM", PreviousState: "OK",
	Reason: "Threshold Crossed", Timestamp: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC),
	Dimensions: map[string]string{}, Tags: map[string]string{},
	Metrics: []alarm.Metric{{Namespace: "AWS/ApplicationELB", Name: "HTTPCode_Target_5XX_Count", Dimensions: map[string]string{}}},
	HTTP5xx: alarm.HTTP5xx{Source: "target", Code: "5XX"},
}

// templateFunc is a function parameter templates may call. It is called
// with between min and max arguments (max < 0: no limit), the value piped
// in last.
type templateFunc struct {
	min, max int
	call     func(args []any) (any, error)
}

// templateFuncs are the functions parameter templates may call: medic's
// helpers, each total, and the text/template built-ins that make sense for
// a parameter. "and" and "or" are evaluated by the evaluator, which stops
// at the first argument that decides the result.
var templateFuncs = map[string]templateFunc{
	// tail returns what follows the first "/": "app/checkout/50dc" -> "checkout/50dc".
	"tail": stringFunc(func(s string) string {
		_, after, _ := strings.Cut(s, "/")
		return after
	}),
	// last returns what follows the last "/": "app/checkout/50dc" -> "50dc".
	"last":  stringFunc(func(s string) string { return s[strings.LastIndex(s, "/")+1:] }),
	"lower": stringFunc(strings.ToLower),
	"upper": stringFunc(strings.ToUpper),
	// segment returns the n-th "/"-separated part (from 0), or "":
	// segment 1 "targetgroup/checkout-prod/73e2" -> "checkout-prod".
	"segment": {2, 2, func(args []any) (any, error) {
		n, ok := asInt(args[0])
		if !ok {
			return nil, argError(1, "a whole number", args[0])
		}
		s, ok := args[1].(string)
		if !ok {
			return nil, argError(2, "a string", args[1])
		}
		parts := strings.Split(s, "/")
		if n < 0 || n >= len(parts) {
			return "", nil
		}
		return parts[n], nil
	}},
	// default returns s, or def when s is empty: index .Tags "service" | default "checkout".
	"default": {2, 2, func(args []any) (any, error) {
		def, ok := args[0].(string)
		if !ok {
			return nil, argError(1, "a string", args[0])
		}
		s, ok := args[1].(string)
		if !ok {
			return nil, argError(2, "a string", args[1])
		}
		if s == "" {
			return def, nil
		}
		return s, nil
	}},
	"index": {1, -1, indexFunc},
	"len":   {1, 1, length},
	"eq": {2, -1, func(args []any) (any, error) {
		for _, y := range args[1:] {
			if same, err := equal(args[0], y); same || err != nil {
				return same, err
			}
		}
		return false, nil
	}},
	"ne": {2, 2, func(args []any) (any, error) {
		same, err := equal(args[0], args[1])
		return !same, err
	}},
	"not":   {1, 1, func(args []any) (any, error) { return !truth(args[0]), nil }},
	"and":   {1, -1, nil},
	"or":    {1, -1, nil},
	"print": {0, -1, func(args []any) (any, error) { return fmt.Sprint(args...), nil }},
	"printf": {1, -1, func(args []any) (any, error) {
		format, ok := args[0].(string)
		if !ok {
			return nil, argError(1, "a format string", args[0])
		}
		return fmt.Sprintf(format, args[1:]...), nil
	}},
}

// unsupportedFuncs are the text/template built-ins parameter templates do
// not offer; the parser knows them so that using one says so.
var unsupportedFuncs = []string{"call", "html", "js", "urlquery", "slice", "println", "lt", "le", "gt", "ge"}

// parseFuncs are the function names the parser accepts.
var parseFuncs = funcNames()

func funcNames() map[string]any {
	names := make(map[string]any, len(templateFuncs)+len(unsupportedFuncs))
	for name := range templateFuncs {
		names[name] = true // the parser only checks the name is there
	}
	for _, name := range unsupportedFuncs {
		names[name] = true
	}
	return names
}

// supported says what parameter templates can do, for error messages.
var supported = "parameter templates support .Fields of the alarm, |, if/else and the functions " +
	strings.Join(slices.Sorted(maps.Keys(templateFuncs)), ", ")

func stringFunc(f func(string) string) templateFunc {
	return templateFunc{1, 1, func(args []any) (any, error) {
		s, ok := args[0].(string)
		if !ok {
			return nil, argError(1, "a string", args[0])
		}
		return f(s), nil
	}}
}

func argError(n int, want string, got any) error {
	return fmt.Errorf("argument %d must be %s, got %s", n, want, typeName(got))
}

// typeName names the type of a template value.
func typeName(x any) string {
	switch x.(type) {
	case *TemplateData:
		return "the alarm"
	case Values:
		return "the view"
	case nil:
		return "nothing"
	}
	return fmt.Sprintf("%T", x)
}

func asInt(x any) (int, bool) {
	n, ok := x.(int)
	return n, ok
}

// indexFunc is text/template's index over the values templates see: maps of
// strings by string key (a missing key gives ""), and lists by position.
func indexFunc(args []any) (any, error) {
	item := args[0]
	for _, key := range args[1:] {
		switch it := item.(type) {
		case map[string]string:
			k, ok := key.(string)
			if !ok {
				return nil, fmt.Errorf("can't index a map of strings with %s", typeName(key))
			}
			item = it[k]
		case []alarm.Metric:
			i, ok := asInt(key)
			if !ok {
				return nil, fmt.Errorf("can't index the metrics with %s", typeName(key))
			}
			if i < 0 || i >= len(it) {
				return nil, fmt.Errorf("index out of range: %d (the alarm has %d metrics)", i, len(it))
			}
			item = it[i]
		default:
			return nil, fmt.Errorf("can't index item of type %s", typeName(item))
		}
	}
	return item, nil
}

func length(args []any) (any, error) {
	switch x := args[0].(type) {
	case string:
		return len(x), nil
	case map[string]string:
		return len(x), nil
	case []alarm.Metric:
		return len(x), nil
	}
	return nil, fmt.Errorf("len of %s", typeName(args[0]))
}

// truth is text/template's notion of true: not the zero value, not empty.
func truth(x any) bool {
	switch x := x.(type) {
	case nil:
		return false
	case string:
		return x != ""
	case int:
		return x != 0
	case float64:
		return x != 0
	case bool:
		return x
	case map[string]string:
		return len(x) > 0
	case []alarm.Metric:
		return len(x) > 0
	}
	return true
}

// equal compares strings, booleans, whole numbers and other numbers, as eq
// and ne do; like text/template it refuses to compare 1 with 1.0.
func equal(x, y any) (bool, error) {
	switch x := x.(type) {
	case string:
		if y, ok := y.(string); ok {
			return x == y, nil
		}
	case bool:
		if y, ok := y.(bool); ok {
			return x == y, nil
		}
	case int:
		if y, ok := y.(int); ok {
			return x == y, nil
		}
	case float64:
		if y, ok := y.(float64); ok {
			return x == y, nil
		}
	default:
		return false, fmt.Errorf("can't compare %s", typeName(x))
	}
	return false, fmt.Errorf("incompatible types for comparison: %s and %s", typeName(x), typeName(y))
}

// paramTemplate is a parsed parameter template.
type paramTemplate struct {
	tree *parse.Tree
}

// parseTemplate parses text and checks that it uses only what the evaluator
// supports, so that rendering can only fail on the alarm's values.
func parseTemplate(name, text string) (*paramTemplate, error) {
	return parseChecked(name, text, checker{field: checkAlarmField, supported: supported})
}

// checker is what a template may use besides the functions: the fields of
// its dot, and what to say when it uses something else.
type checker struct {
	field     func(name string) error
	supported string
}

func parseChecked(name, text string, c checker) (*paramTemplate, error) {
	trees := make(map[string]*parse.Tree)
	tree, err := parse.New(name).Parse(text, "{{", "}}", trees, parseFuncs)
	if err != nil {
		return nil, errors.New(parsePos.ReplaceAllString(err.Error(), ""))
	}
	for _, t := range trees {
		if t != tree {
			return nil, errors.New("define and block are not supported: " + c.supported)
		}
	}
	if err := c.node(tree.Root); err != nil {
		return nil, err
	}
	return &paramTemplate{tree: tree}, nil
}

// parsePos is the "template: name:line: " prefix of parse errors; the
// policy error names file, line and path instead.
var parsePos = regexp.MustCompile(`^template: [^:]*:\d+(:\d+)?: `)

// String returns the template as written (normalised by the parser).
func (t *paramTemplate) String() string { return t.tree.Root.String() }

func unsupported(what string) error {
	return fmt.Errorf("%s is not supported: %s", what, supported)
}

func (c checker) unsupported(what string) error {
	return fmt.Errorf("%s is not supported: %s", what, c.supported)
}

func (c checker) node(n parse.Node) error {
	switch n := n.(type) {
	case *parse.ListNode:
		for _, l := range n.Nodes {
			if err := c.node(l); err != nil {
				return err
			}
		}
		return nil
	case *parse.TextNode, *parse.CommentNode:
		return nil
	case *parse.ActionNode:
		return c.pipe(n.Pipe)
	case *parse.IfNode:
		if err := c.pipe(n.Pipe); err != nil {
			return err
		}
		if err := c.node(n.List); err != nil {
			return err
		}
		if n.ElseList != nil {
			return c.node(n.ElseList)
		}
		return nil
	case *parse.RangeNode:
		return c.unsupported("range")
	case *parse.WithNode:
		return c.unsupported("with")
	case *parse.TemplateNode:
		return c.unsupported("template")
	}
	return c.unsupported(fmt.Sprintf("{{%s}}", n))
}

func (c checker) pipe(p *parse.PipeNode) error {
	if len(p.Decl) > 0 {
		return c.unsupported("declaring variables")
	}
	for i, cmd := range p.Cmds {
		args := cmd.Args
		if id, ok := args[0].(*parse.IdentifierNode); ok {
			n := len(args) - 1
			if i > 0 {
				n++ // the value piped in
			}
			if err := c.call(id.Ident, n); err != nil {
				return err
			}
			args = args[1:]
		}
		for _, arg := range args {
			if err := c.arg(arg); err != nil {
				return err
			}
		}
	}
	return nil
}

func (c checker) call(name string, n int) error {
	f, ok := templateFuncs[name]
	if !ok {
		return c.unsupported(fmt.Sprintf("function %q", name))
	}
	return checkArgCount(name, f, n)
}

func checkArgCount(name string, f templateFunc, n int) error {
	if n < f.min || (f.max >= 0 && n > f.max) {
		want := fmt.Sprint(f.min)
		switch {
		case f.max < 0:
			want = fmt.Sprintf("at least %d", f.min)
		case f.max != f.min:
			want = fmt.Sprintf("%d to %d", f.min, f.max)
		}
		return fmt.Errorf("wrong number of args for %s: want %s got %d", name, want, n)
	}
	return nil
}

func (c checker) arg(arg parse.Node) error {
	switch a := arg.(type) {
	case *parse.FieldNode:
		return c.field(a.Ident[0])
	case *parse.VariableNode:
		if a.Ident[0] != "$" {
			return c.unsupported("variable " + a.Ident[0])
		}
		if len(a.Ident) > 1 {
			return c.field(a.Ident[1])
		}
	case *parse.ChainNode:
		return c.arg(a.Node)
	case *parse.PipeNode:
		return c.pipe(a)
	case *parse.IdentifierNode:
		// A function as an argument rather than a command is called
		// without arguments.
		return c.call(a.Ident, 0)
	case *parse.NumberNode:
		if a.IsComplex {
			return c.unsupported("complex number " + a.Text)
		}
	case *parse.NilNode:
		return c.unsupported("nil")
	case *parse.StringNode, *parse.BoolNode, *parse.DotNode:
	default:
		return c.unsupported(a.String())
	}
	return nil
}

func checkAlarmField(name string) error {
	if _, ok := sampleData.field(name); !ok {
		return fmt.Errorf("can't evaluate field %s in %s", name, alarmFields)
	}
	return nil
}

// execute renders the template for data. When trial is set, a missing map
// key reads as "", as it must on the sample alarm.
func (t *paramTemplate) execute(data *TemplateData, trial bool) (string, error) {
	return t.run(data, trial)
}

// run renders the template with dot set to data: a *TemplateData or Values.
func (t *paramTemplate) run(data any, trial bool) (string, error) {
	e := &evaluator{data: data, trial: trial}
	if err := e.list(t.tree.Root); err != nil {
		return "", err
	}
	return e.out.String(), nil
}

type evaluator struct {
	data  any // *TemplateData or Values
	trial bool
	out   strings.Builder
}

// errAt says where in the template a problem is, as text/template did:
// "<.Dimensions.ServiceName>: map has no entry for key "ServiceName"".
func errAt(n parse.Node, err error) error {
	return fmt.Errorf("<%s>: %w", n, err)
}

func (e *evaluator) list(l *parse.ListNode) error {
	for _, n := range l.Nodes {
		if err := e.node(n); err != nil {
			return err
		}
	}
	return nil
}

func (e *evaluator) node(n parse.Node) error {
	switch n := n.(type) {
	case *parse.TextNode:
		e.out.Write(n.Text)
	case *parse.CommentNode:
	case *parse.ActionNode:
		v, err := e.pipe(n.Pipe)
		if err != nil {
			return err
		}
		e.print(v)
	case *parse.IfNode:
		v, err := e.pipe(n.Pipe)
		if err != nil {
			return err
		}
		if truth(v) {
			return e.list(n.List)
		}
		if n.ElseList != nil {
			return e.list(n.ElseList)
		}
	case *parse.ListNode:
		return e.list(n)
	default:
		// parseTemplate lets nothing else through.
		return errAt(n, unsupported(n.String()))
	}
	return nil
}

func (e *evaluator) print(v any) {
	switch v := v.(type) {
	case string:
		e.out.WriteString(v)
	case *TemplateData:
		fmt.Fprint(&e.out, *v)
	default:
		fmt.Fprint(&e.out, v)
	}
}

func (e *evaluator) pipe(p *parse.PipeNode) (any, error) {
	if len(p.Decl) > 0 {
		return nil, errAt(p, unsupported("declaring variables"))
	}
	var v any
	for i, cmd := range p.Cmds {
		var err error
		if v, err = e.command(cmd, v, i > 0); err != nil {
			return nil, err
		}
	}
	return v, nil
}

// command evaluates one command of a pipeline; piped says whether final is
// the value of the previous command, passed as the last argument.
func (e *evaluator) command(cmd *parse.CommandNode, final any, piped bool) (any, error) {
	switch n := cmd.Args[0].(type) {
	case *parse.IdentifierNode:
		return e.call(cmd, n.Ident, cmd.Args[1:], final, piped)
	case *parse.FieldNode:
		return e.fields(n, e.data, n.Ident, cmd.Args[1:], final, piped)
	case *parse.VariableNode:
		return e.fields(n, e.data, n.Ident[1:], cmd.Args[1:], final, piped)
	case *parse.ChainNode:
		recv, err := e.arg(n.Node)
		if err != nil {
			return nil, err
		}
		return e.fields(n, recv, n.Field, cmd.Args[1:], final, piped)
	}
	if len(cmd.Args) > 1 || piped {
		return nil, errAt(cmd, fmt.Errorf("can't give argument to non-function %s", cmd.Args[0]))
	}
	return e.arg(cmd.Args[0])
}

func (e *evaluator) arg(n parse.Node) (any, error) {
	switch n := n.(type) {
	case *parse.DotNode:
		return e.data, nil
	case *parse.FieldNode:
		return e.fields(n, e.data, n.Ident, nil, nil, false)
	case *parse.VariableNode:
		return e.fields(n, e.data, n.Ident[1:], nil, nil, false)
	case *parse.ChainNode:
		recv, err := e.arg(n.Node)
		if err != nil {
			return nil, err
		}
		return e.fields(n, recv, n.Field, nil, nil, false)
	case *parse.PipeNode:
		return e.pipe(n)
	case *parse.IdentifierNode:
		return e.call(n, n.Ident, nil, nil, false)
	case *parse.StringNode:
		return n.Text, nil
	case *parse.BoolNode:
		return n.True, nil
	case *parse.NumberNode:
		return number(n)
	}
	return nil, errAt(n, unsupported(n.String()))
}

// number gives a constant the type text/template gives it where no type is
// expected: float64 when written as one, else int.
func number(n *parse.NumberNode) (any, error) {
	t := n.Text
	hexInt := len(t) > 2 && t[0] == '0' && (t[1] == 'x' || t[1] == 'X') && !strings.ContainsAny(t, "pP")
	runeInt := len(t) > 0 && t[0] == '\''
	switch {
	case n.IsComplex:
		return nil, errAt(n, unsupported("complex number "+t))
	case n.IsFloat && !hexInt && !runeInt && strings.ContainsAny(t, ".eEpP"):
		return n.Float64, nil
	case n.IsInt:
		return int(n.Int64), nil
	case n.IsUint:
		return nil, errAt(n, fmt.Errorf("%s overflows int", t))
	}
	return n.Float64, nil
}

// fields follows the field names from recv; the last one gets the
// command's arguments, which only a method can take.
func (e *evaluator) fields(at parse.Node, recv any, names []string, args []parse.Node, final any, piped bool) (any, error) {
	for i, name := range names {
		var argv []any
		hasArgs := i == len(names)-1 && (len(args) > 0 || piped)
		if hasArgs {
			var err error
			if argv, err = e.args(args, final, piped); err != nil {
				return nil, err
			}
		}
		var err error
		if tm, ok := recv.(time.Time); ok {
			recv, err = timeMethod(tm, name, argv)
		} else if hasArgs {
			err = fmt.Errorf("%s is not a method but has arguments", name)
		} else {
			recv, err = e.field(recv, name)
		}
		if err != nil {
			return nil, errAt(at, err)
		}
	}
	return recv, nil
}

func (e *evaluator) field(recv any, name string) (any, error) {
	switch r := recv.(type) {
	case *TemplateData:
		if v, ok := r.field(name); ok {
			return v, nil
		}
		return nil, fmt.Errorf("can't evaluate field %s in %s", name, alarmFields)
	case Values:
		if v, ok := r[name]; ok {
			return v, nil
		}
		return nil, fmt.Errorf("can't evaluate field %s (fields: %s)", name, r.names())
	case map[string]string:
		v, ok := r[name]
		if !ok && !e.trial {
			return nil, fmt.Errorf("map has no entry for key %q", name)
		}
		return v, nil
	case alarm.Metric:
		switch name {
		case "ID":
			return r.ID, nil
		case "Namespace":
			return r.Namespace, nil
		case "Name":
			return r.Name, nil
		case "Dimensions":
			return r.Dimensions, nil
		case "Stat":
			return r.Stat, nil
		case "Period":
			return r.Period, nil
		}
		return nil, fmt.Errorf("can't evaluate field %s in a metric (fields: .ID .Namespace .Name .Dimensions .Stat .Period)", name)
	case alarm.HTTP5xx:
		switch name {
		case "Source":
			return r.Source, nil
		case "Code":
			return r.Code, nil
		}
		return nil, fmt.Errorf("can't evaluate field %s in .HTTP5xx (fields: .Source .Code)", name)
	}
	return nil, fmt.Errorf("can't evaluate field %s in type %s", name, typeName(recv))
}

// timeMethod calls the methods of time.Time templates may use.
func timeMethod(t time.Time, name string, args []any) (any, error) {
	want := 0
	switch name {
	case "Format":
		want = 1
	case "Unix", "UTC":
	default:
		return nil, fmt.Errorf("can't evaluate field %s of .Timestamp (methods: .Format .Unix .UTC)", name)
	}
	if len(args) != want {
		return nil, fmt.Errorf("wrong number of args for %s: want %d got %d", name, want, len(args))
	}
	switch name {
	case "Format":
		layout, ok := args[0].(string)
		if !ok {
			return nil, argError(1, "a layout string", args[0])
		}
		return t.Format(layout), nil
	case "Unix":
		return int(t.Unix()), nil
	}
	return t.UTC(), nil
}

func (e *evaluator) args(nodes []parse.Node, final any, piped bool) ([]any, error) {
	out := make([]any, 0, len(nodes)+1)
	for _, n := range nodes {
		v, err := e.arg(n)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	if piped {
		out = append(out, final)
	}
	return out, nil
}

// call calls the function name with the arguments args (and final, when
// piped); at locates errors.
func (e *evaluator) call(at parse.Node, name string, args []parse.Node, final any, piped bool) (any, error) {
	n := len(args)
	if piped {
		n++
	}
	f, ok := templateFuncs[name]
	if !ok {
		return nil, errAt(at, fmt.Errorf("function %q is not supported", name))
	}
	if err := checkArgCount(name, f, n); err != nil {
		return nil, errAt(at, err)
	}
	if name == "and" || name == "or" {
		return e.andOr(name == "and", args, final, piped)
	}
	argv, err := e.args(args, final, piped)
	if err != nil {
		return nil, err
	}
	v, err := templateFuncs[name].call(argv)
	if err != nil {
		return nil, errAt(at, err)
	}
	return v, nil
}

// andOr returns the first argument that decides the result, evaluating no
// further, else the last one: text/template's and and or.
func (e *evaluator) andOr(and bool, args []parse.Node, final any, piped bool) (any, error) {
	var v any
	for _, n := range args {
		var err error
		if v, err = e.arg(n); err != nil {
			return nil, err
		}
		if truth(v) != and {
			return v, nil
		}
	}
	if piped {
		return final, nil
	}
	return v, nil
}
