package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/wijkbrug/wijkbrug/cmd/wijkbrug/internal/suite"
	"github.com/wijkbrug/wijkbrug/pkg/netport"
)

// TestDocsExamplesRun runs the documentation's examples as a reader pastes them, against a
// suite started as make run starts it: the commands make run's banner prints, the README's
// "Calling the APIs" section, its metrics example, docs/rest.md, docs/integrators.md and the
// five service guides, and last the README's wijkbrug commands (Watching events, parked events,
// Commands, Privacy and security), every sh block in order, after the README's own shorthands
// (P, TODAY, as); a document's blocks in one bash session. bash runs them as written — quotes,
// $P, $TODAY, functions and pipes are bash's — with bin/grpcurl, curl, go and the service
// binaries handing their arguments and input to the test over a loopback socket (bash's
// /dev/tcp). The test makes each call as grpcurl makes it (the JSON mapped onto the request by
// protojson, the metadata from -H, the client certificate from -cert/-key, the answer printed
// in lowerCamelCase), runs curl itself, or runs `go run ./cmd/wijkbrug …` as the wijkbrug
// command (docsCmd.wijkbrug), on the suite's port for the README's default one (from the
// README's own table, and make run's PostgreSQL and NATS ports), and records the outcome. A
// command it does not run must be listed in docsNotRun with why.
// A placeholder is what the text says it is: <signal_id> the field of an earlier answer
// (signalId), <case_id> or <allocation_number> the id or number of the case or allocation an
// earlier answer holds (case.id, cases[0].id, allocation.number), newest answer first;
// <intake_id of desk-1> looks only in the answer to the request with idempotency key desk-1.
//
// What the comment governing a command claims is checked (the comment lines above it in the
// same paragraph):
//   - a call answers OK, or a status code its comment names (UNAUTHENTICATED,
//     FAILED_PRECONDITION, …), and "(CODE: words …)" puts the words in that answer's message;
//   - curl answers 2xx, or an HTTP status its comment names (400);
//   - a code a comment says the command answers ("(CODE: …", or the comment's last word) and
//     every HTTP status it names are answered by a command it governs;
//   - where the comment says "within a moment", the upper-case values it names outside
//     parentheses (FED_BACK, STARTED) are in the answer: the call is repeated until they are
//     (30 s), as a reader would.
func TestDocsExamplesRun(t *testing.T) {
	t.Parallel()
	for _, prog := range []string{"bash", "curl"} {
		if _, err := exec.LookPath(prog); err != nil {
			t.Fatalf("%s runs the documentation's commands: install it (apt-get install %s; .ci/run does)", prog, prog)
		}
	}
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	calling := shBlocks(mdSection(t, readme, "## Calling the APIs"))
	prelude := -1
	for i, b := range calling {
		if strings.Contains(b, "as() {") {
			prelude = i
		}
	}
	if prelude < 0 || len(calling) < 4 {
		t.Fatalf("the README's \"Calling the APIs\" has %d sh blocks and no shorthand block (as() {…}): has it changed shape?", len(calling))
	}
	type docBlock struct{ doc, text string }
	var blocks []docBlock
	for i, b := range calling {
		if i != prelude {
			blocks = append(blocks, docBlock{"README.md, Calling the APIs", b})
		}
	}
	metrics := 0
	for _, b := range shBlocks(mdSection(t, readme, "## Architecture")) {
		if strings.HasPrefix(b, "curl ") {
			blocks = append(blocks, docBlock{"README.md, Architecture", b})
			metrics++
		}
	}
	if metrics != 1 {
		t.Fatalf("the README's Architecture section has %d curl blocks (the metrics example): want 1", metrics)
	}
	rest, err := os.ReadFile("../../docs/rest.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range shBlocks(string(rest)) {
		blocks = append(blocks, docBlock{"docs/rest.md", b})
	}
	integrators, err := os.ReadFile("../../docs/integrators.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range shBlocks(string(integrators)) {
		if apiCommand.MatchString(b) {
			blocks = append(blocks, docBlock{"docs/integrators.md", b})
		}
	}
	// The service guides, in the order they build on each other: case-direction.md ends by
	// handing the README's case over, which the others' examples need open.
	for _, guide := range []string{"intake.md", "referral.md", "outcomes.md", "provider-monitoring.md", "case-direction.md"} {
		g, err := os.ReadFile("../../docs/services/" + guide)
		if err != nil {
			t.Fatal(err)
		}
		n := len(blocks)
		for _, b := range shBlocks(string(g)) {
			if apiCommand.MatchString(b) {
				blocks = append(blocks, docBlock{"docs/services/" + guide, b})
			}
		}
		if len(blocks) == n {
			t.Fatalf("docs/services/%s has no example block with an API command: has it changed shape?", guide)
		}
	}

	// The README's wijkbrug commands last: by then the GP has the subscription of
	// docs/integrators.md (its feed is read "after it subscribed") and the examples have made
	// the events, parked-event lists and access-log entries the commands show.
	for _, section := range []string{"## Watching events", "## Architecture", "## Commands", "## Privacy and security"} {
		n := len(blocks)
		for _, b := range shBlocks(mdSection(t, readme, section)) {
			if strings.Contains(b, "go run ./cmd/wijkbrug ") {
				blocks = append(blocks, docBlock{"README.md, " + strings.TrimPrefix(section, "## "), b})
			}
		}
		if len(blocks) == n {
			t.Fatalf("the README's %q has no block with a wijkbrug command: has it changed shape?", section)
		}
	}

	// A document's blocks run in one bash session, as a reader pastes them into one shell: a
	// variable set in one block ($PM) holds in the next.
	var sessions []docBlock
	for _, b := range blocks {
		if n := len(sessions); n > 0 && sessions[n-1].doc == b.doc {
			sessions[n-1].text += "\n" + b.text
			continue
		}
		sessions = append(sessions, b)
	}
	blocks = sessions

	// The services' ports from a base, as make run has them: access-history finds the four
	// services from its -base-port.
	base, err := netport.Span(lastServicePort + 1)
	if err != nil {
		t.Fatal(err)
	}
	_, s := startSuite(t, 4*time.Minute, suite.Options{LogOutput: &bytes.Buffer{}, BasePort: base})
	work := t.TempDir()
	// The documents' .wijkbrug (P=.wijkbrug/pki, the commands' -data-dir) is relative to the
	// repository, where make run keeps the suite's data; the suite's throw-away directory stands
	// in for it.
	if err := os.Symlink(s.DataDir, filepath.Join(work, ".wijkbrug")); err != nil {
		t.Fatal(err)
	}
	// make run's banner first: its commands name the suite's own addresses and paths.
	var banner bytes.Buffer
	printBanner(&banner, s, true, true)
	_, try, ok := strings.Cut(banner.String(), "Try it (make tools installs bin/grpcurl):\n")
	if !ok {
		t.Fatalf("the banner has no commands to try:\n%s", banner.String())
	}
	try, _, _ = strings.Cut(try, "More examples")
	blocks = append([]docBlock{{"make run's banner", try}}, blocks...)

	srv := &docsServer{t: t, work: work, st: docsState{ports: docsPorts(t, readme, s)}, cliFlags: map[string]map[string]bool{}}
	srv.cliDefaults = map[string]string{ // the suite's, for make run's defaults
		"pg-port":   strconv.Itoa(s.Postgres.Port()),
		"nats":      s.NATSURL,
		"nats-port": strconv.Itoa(s.NATS.Port()),
		"base-port": strconv.Itoa(base),
	}
	for documented, flag := range map[string]string{makeRunPostgres: "pg-port", makeRunNATS: "nats-port"} {
		if !strings.Contains(readme, documented) {
			t.Fatalf("the README no longer names make run's port %s (-%s): has it changed?", documented, flag)
		}
		srv.st.ports[documented] = "127.0.0.1:" + srv.cliDefaults[flag]
	}
	// The reader's own webhook receiver (docs/integrators.md) listens on a port of the test's.
	if !strings.Contains(string(integrators), "127.0.0.1:"+readerWebhookPort) {
		t.Fatalf("docs/integrators.md no longer runs its webhook receiver on %s: has it changed?", readerWebhookPort)
	}
	hook, err := netport.One()
	if err != nil {
		t.Fatal(err)
	}
	srv.st.ports[readerWebhookPort] = "127.0.0.1:" + strconv.Itoa(hook)
	port := srv.listen()
	total := 0
	for _, b := range blocks {
		total += runDocBlock(t, srv, port, b.doc, calling[prelude], b.text)
	}
	if total < 180 { // 187 when written: a block no longer collected would go unnoticed
		t.Errorf("the documents' commands made %d calls: fewer than they hold (187 when this test was written)", total)
	}
	for entry := range docsNotRun {
		if srv.notRunSeen[entry] == 0 {
			t.Errorf("docsNotRun lists %q, which no document holds any more: remove it", entry)
		}
	}
	notRun := 0
	for _, n := range srv.notRunSeen {
		notRun += n
	}
	t.Logf("%d commands of the documents run, %d not (docsNotRun)", total-notRun, notRun)
}

// make run's PostgreSQL and NATS ports (the wijkbrug commands' defaults), which the documents'
// commands name; the test's suite has its own.
const (
	makeRunPostgres = "55432"
	makeRunNATS     = "4222"
)

// readerWebhookPort is where docs/integrators.md runs the example webhook receiver.
const readerWebhookPort = "8443"

// lastServicePort is the highest of the services' ports above the suite's -base-port.
const lastServicePort = 43

// docsNotRun are the documents' commands the test does not run (a line's start → why). A
// command the test neither runs nor lists here fails it; so does an entry no document holds.
var docsNotRun = map[string]string{
	"go run ./cmd/wijkbrug parked replay -event '<id>'":                   "replays a parked event, and the examples park none; TestParkedCommands parks one and replays it",
	"bin/referral verify-accesslog":                                       "a service binary with its settings in the environment, as its comment says; the all-in-one verify-accesslog above it runs",
	"go run ./cmd/wijkbrug outcomes-rebuild -db 'postgres://ops@pg:5432/": "a deployment's database (host pg); the make run line above it runs",
}

// docsState is what one run's commands share.
type docsState struct {
	ports   map[string]string // the README's port → the suite's
	lines   []string          // the block being run
	answers []docsAnswer      // every answer so far, newest last
	claims  map[int][]string  // the line a command starts on → values it must show in time
}

// docsAnswer is one answer, as JSON, with the idempotency key of its request ("" if none).
type docsAnswer struct {
	key   string
	value any
}

// docsResult is one command's outcome.
type docsResult struct {
	Line    int
	Code    string // a gRPC code (OK, FAILED_PRECONDITION…), or HTTP nnn; "" when unknown
	Message string
	Problem string // the command could not be made as written: a failure whatever its comment
	NotRun  string // the docsNotRun entry that names the command
}

// docsServer makes the calls of the commands bash hands it, one at a time, in the order bash
// runs them.
type docsServer struct {
	t             *testing.T
	work          string
	mu            sync.Mutex
	st            docsState
	results       []docsResult
	cliDefaults   map[string]string          // a wijkbrug flag → the suite's value for it
	cliFlags      map[string]map[string]bool // a program's command → its flags
	subscriberBin string                     // examples/subscriber, once built
	notRunSeen    map[string]int             // the docsNotRun entries met, how often
}

// docsShell is what bash runs before the shorthands and a block: bin/grpcurl, curl, go and
// the service binaries send the line their command starts on (the outermost caller's, less
// the lines before the block), their arguments and their input to the test, and print what it
// answers.
const docsShell = `docs_line() { local n=${#BASH_LINENO[@]}; echo $((${BASH_LINENO[$((n-2))]} - DOCS_OFFSET)); }
docs_call() {
  local fd code
  exec {fd}<>/dev/tcp/127.0.0.1/$DOCS_PORT || { echo "docs_call: the test is not reachable" >&2; return 99; }
  { printf '%s\0' "$@"; printf '\036\0'; printf '%s\n' "$(base64 -w0)"; } >&$fd
  read -r code <&$fd
  cat <&$fd
  exec {fd}>&-
  return "$code"
}
bin/grpcurl() { docs_call grpcurl "$(docs_line)" "$@"; }
curl() { docs_call curl "$(docs_line)" "$@"; }
go() {
  if [ "$1" = run ] && [ "$2" = ./cmd/wijkbrug ]; then shift 2; docs_call wijkbrug "$(docs_line)" "$@"
  else docs_call go "$(docs_line)" "$@"; fi
}
for b in intake case-direction provider-monitoring referral; do eval "bin/$b() { docs_call bin/$b \"\$(docs_line)\" \"\$@\"; }"; done
`

// listen serves the commands on a loopback port until the test ends.
func (srv *docsServer) listen() int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		srv.t.Fatal(err)
	}
	srv.t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			srv.serve(conn)
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port
}

// serve reads one command (its arguments up to a record separator, then its input in base64
// on a line), runs it, and answers its exit code on a line and then its output.
func (srv *docsServer) serve(conn net.Conn) {
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(2 * time.Minute))
	r := bufio.NewReader(conn)
	var args []string
	for {
		f, err := r.ReadString(0)
		if err != nil {
			return
		}
		f = strings.TrimSuffix(f, "\x00")
		if f == "\x1e" {
			break
		}
		args = append(args, f)
	}
	in, err := r.ReadString('\n')
	if err != nil {
		return
	}
	stdin, err := base64.StdEncoding.DecodeString(strings.TrimSpace(in))
	if err != nil || len(args) < 2 {
		fmt.Fprintf(conn, "2\n")
		return
	}
	line, _ := strconv.Atoi(args[1])
	srv.mu.Lock()
	c := &docsCmd{srv: srv, st: &srv.st, stdin: stdin, res: docsResult{Line: line}}
	var out []byte
	exit := 0
	if entry := srv.notRun(line); entry != "" {
		c.res.NotRun = entry
		out = []byte("(not run by the test: " + docsNotRun[entry] + ")\n")
	} else if err := c.substitute(args[2:]); err != nil {
		c.res.Problem = err.Error()
		exit = 1
	} else {
		switch args[0] {
		case "grpcurl":
			out, exit = c.grpcurl(args[2:])
		case "curl":
			out, exit = c.curl(args[2:])
		case "wijkbrug":
			out, exit = c.wijkbrug(args[2:])
		case "go":
			if len(args) > 3 && args[2] == "run" && args[3] == "./examples/subscriber" {
				out, exit = c.subscriber(args[4:])
				break
			}
			fallthrough
		default:
			c.res.Problem = fmt.Sprintf("the test does not run %s commands: teach it, or list the command in docsNotRun with why", args[0])
			exit = 1
		}
	}
	srv.results = append(srv.results, c.res)
	srv.mu.Unlock()
	fmt.Fprintf(conn, "%d\n", exit)
	_, _ = conn.Write(out)
}

// notRun is the docsNotRun entry the command on the block's line starts with, or "".
func (srv *docsServer) notRun(line int) string {
	if line < 1 || line > len(srv.st.lines) {
		return ""
	}
	text := strings.TrimSpace(srv.st.lines[line-1])
	for entry := range docsNotRun {
		if strings.HasPrefix(text, entry) {
			if srv.notRunSeen == nil {
				srv.notRunSeen = map[string]int{}
			}
			srv.notRunSeen[entry]++
			return entry
		}
	}
	return ""
}

// docsCmd is one command being made.
type docsCmd struct {
	srv   *docsServer
	st    *docsState
	stdin []byte
	res   docsResult
	key   string // the request's idempotency key, if any
}

// requestKey is the idempotency key a command sends: in its JSON, or as a header.
func requestKey(data string, headers []string) string {
	var body struct {
		Key string `json:"idempotency_key"`
	}
	if json.Unmarshal([]byte(data), &body) == nil && body.Key != "" {
		return body.Key
	}
	for _, h := range headers {
		if k, v, ok := strings.Cut(h, ":"); ok && strings.EqualFold(strings.TrimSpace(k), "idempotency-key") {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// keep adds an answer for the placeholders of the commands after it.
func (h *docsCmd) keep(answer []byte) {
	var v any
	if json.Unmarshal(answer, &v) == nil {
		h.st.answers = append(h.st.answers, docsAnswer{h.key, v})
	}
}

var (
	placeholder = regexp.MustCompile(`<([a-z_]+)(?: of ([a-z0-9-]+))?>`)
	apiCommand  = regexp.MustCompile(`(?m)^\s*(as |bin/grpcurl |curl |go run |bin/(intake|case-direction|provider-monitoring|referral) )`)
	codeNamed   = regexp.MustCompile(`\b(OK|CANCELLED|UNKNOWN|INVALID_ARGUMENT|DEADLINE_EXCEEDED|NOT_FOUND|ALREADY_EXISTS|PERMISSION_DENIED|RESOURCE_EXHAUSTED|FAILED_PRECONDITION|ABORTED|OUT_OF_RANGE|UNIMPLEMENTED|INTERNAL|UNAVAILABLE|DATA_LOSS|UNAUTHENTICATED)\b`)
	codeMessage = regexp.MustCompile(`\(([A-Z_]+):\s*([^…)]*)`)
	codeLast    = regexp.MustCompile(`\b([A-Z]+(?:_[A-Z]+)*)\.?$`)
	httpNamed   = regexp.MustCompile(`\b([45]\d\d)\b`)
	claimedWord = regexp.MustCompile(`\b[A-Z][A-Z_]{3,}\b`)
	parenthesis = regexp.MustCompile(`\([^)]*\)`)
)

// runDocBlock runs one sh block in bash and checks every command's outcome against the
// comment governing it; it returns how many commands ran.
func runDocBlock(t *testing.T, srv *docsServer, port int, doc, prelude, block string) int {
	t.Helper()
	lines := strings.Split(block, "\n")
	head := docsShell + prelude + "\n"
	offset := strings.Count(head, "\n")
	claims := map[int][]string{}
	comments := map[int]string{} // the line a command may start on (1-based) → its comment
	for i := range lines {
		if c := governingComment(lines, i); c != "" {
			comments[i+1] = c
			if strings.Contains(c, "within a moment") {
				claims[i+1] = claimedWord.FindAllString(parenthesis.ReplaceAllString(c, ""), -1)
			}
		}
	}
	srv.mu.Lock()
	srv.st.claims, srv.st.lines, srv.results = claims, lines, nil
	srv.mu.Unlock()
	script := filepath.Join(srv.work, "block.sh")
	if err := os.WriteFile(script, []byte(head+block), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("bash", script)
	cmd.Dir = srv.work
	cmd.Env = append(os.Environ(), "DOCS_PORT="+strconv.Itoa(port), "DOCS_OFFSET="+strconv.Itoa(offset))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, runErr := cmd.Output() // a block may end on a command that fails on purpose
	// A command bash cannot start (a word it takes for a redirection, <consumer>; a program
	// not there) is reported on bash's standard error only.
	if regexp.MustCompile(`block\.sh: line \d+: (syntax error|.*: No such file or directory|.*: command not found)|docs_call: `).Match(stderr.Bytes()) {
		t.Errorf("%s: bash cannot run a block as written (%v):\n%s", doc, runErr, stderr.String())
	}
	srv.mu.Lock()
	results := srv.results
	srv.mu.Unlock()
	if len(results) == 0 {
		t.Fatalf("%s: the block ran no command (bash: %v)\n%s%s\n%s", doc, runErr, out, stderr.String(), block)
	}
	answered := map[string]map[string]bool{} // comment → codes its commands answered
	for _, r := range results {
		if r.Line < 1 || r.Line > len(lines) {
			t.Fatalf("%s: a command on line %d of a %d-line block", doc, r.Line, len(lines))
		}
		line := strings.TrimSpace(lines[r.Line-1])
		if r.Problem != "" {
			t.Errorf("%s: %q: %s", doc, line, r.Problem)
			continue
		}
		if r.NotRun != "" {
			t.Logf("%s: %s … not run: %s", doc, line, docsNotRun[r.NotRun])
			continue
		}
		comment := comments[r.Line]
		if answered[comment] == nil {
			answered[comment] = map[string]bool{}
		}
		answered[comment][r.Code] = true
		switch {
		case r.Code == "" || r.Code == "OK" || strings.HasPrefix(r.Code, "HTTP 2"):
		case strings.HasPrefix(r.Code, "HTTP "):
			if !slices.Contains(httpNamed.FindAllString(comment, -1), strings.TrimPrefix(r.Code, "HTTP ")) {
				t.Errorf("%s: %q answered %s (%s); its comment names no such status (%q)", doc, line, r.Code, r.Message, comment)
			}
		default:
			if !slices.Contains(codeNamed.FindAllString(comment, -1), r.Code) {
				t.Errorf("%s: %q answered %s (%s); its comment names no such code (%q)", doc, line, r.Code, r.Message, comment)
			}
			for _, m := range codeMessage.FindAllStringSubmatch(comment, -1) {
				if m[1] == r.Code && !strings.Contains(r.Message, strings.Trim(m[2], ` "`)) {
					t.Errorf("%s: %q answered %q; its comment says %q", doc, line, r.Message, m[2])
				}
			}
		}
		t.Logf("%s: %s … %s", doc, line, r.Code)
	}
	for comment, codes := range answered {
		// A code is claimed where the comment says what the command answers: "(CODE: …" or
		// a comment that ends on it; elsewhere a code is what a command may answer ("once
		// closed, it takes no referral (FAILED_PRECONDITION)").
		var named []string
		for _, m := range append(codeMessage.FindAllStringSubmatch(comment, -1), codeLast.FindStringSubmatch(comment)) {
			if m != nil && codeNamed.FindString(m[1]) == m[1] {
				named = append(named, m[1])
			}
		}
		if curlAnswered(codes) { // a number in a gRPC example's comment is no HTTP status
			for _, status := range httpNamed.FindAllString(comment, -1) {
				named = append(named, "HTTP "+status)
			}
		}
		for _, c := range named {
			if !codes[c] {
				t.Errorf("%s: the comment %q names %s, and none of the commands it governs answered it (%v)", doc, comment, c, codes)
			}
		}
	}
	return len(results)
}

func curlAnswered(codes map[string]bool) bool {
	for c := range codes {
		if strings.HasPrefix(c, "HTTP ") {
			return true
		}
	}
	return false
}

// governingComment is the comment of the command that may start on lines[i]: the comment lines
// above it in the same paragraph (up to a blank line), past the lines of earlier commands.
func governingComment(lines []string, i int) string {
	if l := strings.TrimSpace(lines[i]); l == "" || strings.HasPrefix(l, "#") {
		return ""
	}
	k := i - 1
	for k >= 0 {
		l := strings.TrimSpace(lines[k])
		if l == "" {
			return ""
		}
		if strings.HasPrefix(l, "#") {
			break
		}
		k--
	}
	if k < 0 {
		return ""
	}
	var c []string
	for ; k >= 0 && strings.HasPrefix(strings.TrimSpace(lines[k]), "#"); k-- {
		c = append([]string{strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(lines[k]), "#"))}, c...)
	}
	return strings.Join(c, " ")
}

// mdSection is the part of a Markdown document from heading to the next heading of its level.
func mdSection(t *testing.T, doc, heading string) string {
	t.Helper()
	i := strings.Index(doc, "\n"+heading+"\n")
	if i < 0 {
		t.Fatalf("the README has no %q", heading)
	}
	rest := doc[i+1+len(heading):]
	level := heading[:strings.Index(heading, " ")+1]
	if j := strings.Index(rest, "\n"+level); j >= 0 {
		rest = rest[:j]
	}
	return rest
}

// shBlocks are the fenced ```sh blocks of a Markdown text.
func shBlocks(md string) []string {
	var out []string
	for _, part := range strings.Split(md, "```sh\n")[1:] {
		if end := strings.Index(part, "```"); end >= 0 {
			out = append(out, part[:end])
		}
	}
	return out
}

// docsPorts maps the README's default ports (its service table's gRPC ports; REST 20 and admin
// 40 above them, as "Quick start" says) to the suite's.
func docsPorts(t *testing.T, readme string, s *suite.Suite) map[string]string {
	t.Helper()
	row := regexp.MustCompile("(?m)^\\| ([a-z-]+) \\|.*\\| `wijkbrug\\.[a-z]+\\.v1\\.[A-Za-z]+` \\| (\\d+) \\|")
	out := map[string]string{}
	for _, m := range row.FindAllStringSubmatch(readme, -1) {
		e := s.Endpoint(strings.ReplaceAll(m[1], "-", ""))
		port, _ := strconv.Atoi(m[2])
		out[m[2]] = e.Addr
		out[strconv.Itoa(port+20)] = e.RESTAddr
		out[strconv.Itoa(port+40)] = e.AdminAddr
	}
	if len(out) != 12 {
		t.Fatalf("the README's service table gives the ports %v: want four services' gRPC, REST and admin ports", out)
	}
	return out
}

// substitute replaces the placeholders in args by the values earlier answers give them.
func (h *docsCmd) substitute(args []string) error {
	var missing []string
	for i, a := range args {
		args[i] = placeholder.ReplaceAllStringFunc(a, func(p string) string {
			m := placeholder.FindStringSubmatch(p)
			v, ok := h.lookup(m[1], m[2])
			if !ok {
				missing = append(missing, p)
			}
			return v
		})
	}
	if len(missing) > 0 {
		return fmt.Errorf("%s: in no answer before it", strings.Join(missing, ", "))
	}
	return nil
}

// lookup finds a placeholder's value in the answers, newest first: the field itself
// (signal_id: signalId or signal_id), or for <x_y> the y of the x an answer holds (case.id,
// allocation.number, or the first of a list: cases[0].id, plan.goals[0].id). <x of key> looks
// only in the answer to the request with that idempotency key.
func (h *docsCmd) lookup(name, key string) (string, bool) {
	var matches []func(map[string]any) (string, bool)
	for _, k := range []string{camelCase(name), name} {
		matches = append(matches, func(m map[string]any) (string, bool) {
			s, ok := m[k].(string)
			return s, ok
		})
	}
	for i, c := range name { // <allocation_number>: the number of the allocation an answer holds
		if c != '_' {
			continue
		}
		object, field := name[:i], camelCase(name[i+1:])
		matches = append(matches, func(m map[string]any) (string, bool) {
			o, _ := m[object].(map[string]any)
			if l, ok := m[object+"s"].([]any); ok && len(l) > 0 && o == nil {
				o, _ = l[0].(map[string]any)
			}
			s, ok := o[field].(string)
			return s, ok
		})
	}
	for i := len(h.st.answers) - 1; i >= 0; i-- {
		if key != "" && h.st.answers[i].key != key {
			continue
		}
		for _, match := range matches {
			if v, ok := findIn(h.st.answers[i].value, match); ok {
				return v, true
			}
		}
	}
	return "", false
}

func camelCase(name string) string {
	return regexp.MustCompile(`_([a-z])`).ReplaceAllStringFunc(name, func(s string) string { return strings.ToUpper(s[1:]) })
}

// findIn is the first value match finds in an object of the JSON value v, v itself first, then
// depth first (an object's keys in sorted order, so that a run finds what the last one did).
func findIn(v any, match func(map[string]any) (string, bool)) (string, bool) {
	switch v := v.(type) {
	case map[string]any:
		if s, ok := match(v); ok {
			return s, true
		}
		for _, k := range slices.Sorted(maps.Keys(v)) {
			if s, ok := findIn(v[k], match); ok {
				return s, true
			}
		}
	case []any:
		for _, e := range v {
			if s, ok := findIn(e, match); ok {
				return s, true
			}
		}
	}
	return "", false
}

// path is a file the command names, relative to the work directory unless absolute.
func (h *docsCmd) path(name string) string {
	if filepath.IsAbs(name) {
		return name
	}
	return filepath.Join(h.srv.work, name)
}

// address maps a documented host:port (localhost and a README port) to the suite's port.
func (h *docsCmd) address(documented string) (string, error) {
	for _, own := range h.st.ports {
		if documented == own { // the banner prints the suite's own
			return own, nil
		}
	}
	host, port, err := net.SplitHostPort(documented)
	if err != nil || host != "localhost" || h.st.ports[port] == "" {
		return "", fmt.Errorf("address %q is not one of the services' ports", documented)
	}
	_, suitePort, _ := net.SplitHostPort(h.st.ports[port])
	return net.JoinHostPort(host, suitePort), nil
}

// grpcurl makes the call grpcurl makes for args, repeating it while the answer lacks a value
// its comment says it shows within a moment. It returns what grpcurl prints and its exit code.
func (h *docsCmd) grpcurl(args []string) ([]byte, int) {
	deadline := time.Now()
	words := h.st.claims[h.res.Line]
	if len(words) > 0 {
		deadline = deadline.Add(30 * time.Second)
	}
	for {
		answer, err := h.call(args)
		if h.res.Problem != "" {
			return nil, 1
		}
		missing := ""
		for _, w := range words {
			if !bytes.Contains(answer, []byte(w)) {
				missing = w
			}
		}
		if missing == "" || time.Now().After(deadline) {
			if missing != "" {
				h.res.Problem = fmt.Sprintf("the answer does not show %s, as its comment says, after 30 s:\n%s", missing, answer)
			}
			if err != nil {
				s := status.Convert(err)
				h.res.Code, h.res.Message = codeName(s.Code()), s.Message()
				for _, d := range s.Details() {
					if br, ok := d.(*errdetails.BadRequest); ok {
						for _, v := range br.GetFieldViolations() {
							h.res.Message += "; " + v.GetField() + ": " + v.GetDescription()
						}
					}
				}
				// grpcurl prints the error on its standard error and exits 64 + the code of a
				// failed call, 1 when list fails.
				if args[len(args)-1] == "list" {
					return nil, 1
				}
				return nil, 64 + int(s.Code())
			}
			h.res.Code = "OK"
			h.keep(answer)
			return append(answer, '\n'), 0
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func codeName(c codes.Code) string {
	return strings.ToUpper(regexp.MustCompile(`([a-z])([A-Z])`).ReplaceAllString(c.String(), "${1}_$2"))
}

// call makes one grpcurl call: list (reflection) or a unary method with -d as its request.
// A command that cannot be made as written sets h.res.Problem.
func (h *docsCmd) call(args []string) ([]byte, error) {
	problem := func(format string, a ...any) ([]byte, error) {
		h.res.Problem = fmt.Sprintf(format, a...)
		return nil, nil
	}
	var caFile, certFile, keyFile, data string
	var headers []string
	md := metadata.MD{}
	var pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") {
			pos = append(pos, a)
			continue
		}
		if i+1 >= len(args) {
			return problem("grpcurl flag %s without a value", a)
		}
		v := args[i+1]
		i++
		switch a {
		case "-cacert":
			caFile = v
		case "-cert":
			certFile = v
		case "-key":
			keyFile = v
		case "-d":
			data = h.mapPorts(v) // a webhook URL on the reader's own receiver's port
		case "-H":
			headers = append(headers, v)
			k, val, ok := strings.Cut(v, ":")
			if !ok {
				return problem("grpcurl -H %q is not name: value", v)
			}
			md.Append(strings.TrimSpace(k), strings.TrimSpace(val))
		default:
			return problem("grpcurl flag %s: the test does not know it", a)
		}
	}
	if len(pos) != 2 {
		return problem("grpcurl %q: want an address and a method (or list)", args)
	}
	h.key = requestKey(data, headers)
	addr, err := h.address(pos[0])
	if err != nil {
		return problem("%v", err)
	}
	if real := os.Getenv(realGrpcurl); real != "" {
		flags := []string{"-cacert", caFile}
		if certFile != "" {
			flags = append(flags, "-cert", certFile, "-key", keyFile)
		}
		for _, hd := range headers {
			flags = append(flags, "-H", hd)
		}
		if data != "" {
			flags = append(flags, "-d", data)
		}
		return h.callReal(real, append(flags, addr, pos[1]))
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: x509.NewCertPool()}
	ca, err := os.ReadFile(h.path(caFile))
	if err != nil || !tc.RootCAs.AppendCertsFromPEM(ca) {
		return problem("-cacert %s: %v", caFile, err)
	}
	if certFile != "" {
		cert, err := tls.LoadX509KeyPair(h.path(certFile), h.path(keyFile))
		if err != nil {
			return problem("-cert %s -key %s: %v", certFile, keyFile, err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(credentials.NewTLS(tc)))
	if err != nil {
		return problem("%v", err)
	}
	defer cc.Close()
	ctx, cancel := context.WithTimeout(metadata.NewOutgoingContext(context.Background(), md), 20*time.Second)
	defer cancel()

	if pos[1] == "list" {
		stream, err := reflectionpb.NewServerReflectionClient(cc).ServerReflectionInfo(ctx)
		if err != nil {
			return nil, err
		}
		// Send answers io.EOF when the server has already ended the stream (a refusal that came
		// first); its status is what Recv then returns.
		if err := stream.Send(&reflectionpb.ServerReflectionRequest{MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{}}); err != nil && !errors.Is(err, io.EOF) {
			return nil, err
		}
		resp, err := stream.Recv()
		if err != nil {
			return nil, err
		}
		var names []string
		for _, s := range resp.GetListServicesResponse().GetService() {
			names = append(names, s.GetName())
		}
		if len(names) == 0 {
			return problem("list answered no services")
		}
		return []byte(strings.Join(names, "\n")), nil
	}
	service, method, ok := strings.Cut(pos[1], "/")
	if !ok {
		return problem("grpcurl method %q is not service/method", pos[1])
	}
	d, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(service))
	if err != nil {
		return problem("no service %s: %v", service, err)
	}
	sd, ok := d.(protoreflect.ServiceDescriptor)
	if !ok {
		return problem("%s is not a service", service)
	}
	m := sd.Methods().ByName(protoreflect.Name(method))
	if m == nil {
		return problem("%s has no method %s", service, method)
	}
	req := dynamicpb.NewMessage(m.Input())
	if data != "" {
		if err := protojson.Unmarshal([]byte(data), req); err != nil {
			return problem("the request does not map onto %s: %v\n%s", m.Input().FullName(), err, data)
		}
	}
	resp := dynamicpb.NewMessage(m.Output())
	if err := cc.Invoke(ctx, "/"+service+"/"+method, req, resp); err != nil {
		return nil, err
	}
	return protojson.MarshalOptions{Multiline: true, Indent: "  "}.Marshal(resp)
}

// realGrpcurl names a grpcurl program (absolute, or relative to the repository: bin/grpcurl
// after make tools) that makes the documents' grpcurl calls instead of the test's own: a
// check, by hand, that the test calls as grpcurl does.
const realGrpcurl = "WIJKBRUG_DOCS_GRPCURL"

// callReal runs grpcurl with args in the work directory: its answer, or its failure as the
// status it printed (exit 64 + the code and "Code: …" / "Message: …", or for list exit 1 and
// "code = … desc = …"), the message being everything it printed after the code.
func (h *docsCmd) callReal(exe string, args []string) ([]byte, error) {
	if !filepath.IsAbs(exe) {
		exe = filepath.Join("..", "..", exe)
	}
	exe, err := filepath.Abs(exe)
	if err != nil {
		h.res.Problem = fmt.Sprintf("%s: %v", realGrpcurl, err)
		return nil, nil
	}
	cmd := exec.Command(exe, args...)
	cmd.Dir = h.srv.work
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err == nil {
		return bytes.TrimSpace(out), nil
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		h.res.Problem = fmt.Sprintf("grpcurl: %v", err)
		return nil, nil
	}
	text := stderr.String()
	if m := regexp.MustCompile(`(?s)code = (\w+) desc = (.*)`).FindStringSubmatch(text); ee.ExitCode() == 1 && m != nil {
		return nil, status.Error(grpcurlCode(m[1]), strings.TrimSpace(m[2]))
	}
	m := regexp.MustCompile(`(?s)Code: (\w+)\s+Message: (.*)`).FindStringSubmatch(text)
	if m == nil || ee.ExitCode() != 64+int(grpcurlCode(m[1])) {
		h.res.Problem = fmt.Sprintf("grpcurl exited %d: %s", ee.ExitCode(), text)
		return nil, nil
	}
	return nil, status.Error(grpcurlCode(m[1]), strings.TrimSpace(m[2]))
}

// grpcurlCode is the code grpcurl names (Unauthenticated, NotFound, …); Unknown for another name.
func grpcurlCode(name string) codes.Code {
	for c := codes.OK; c <= codes.Unauthenticated; c++ {
		if c.String() == name {
			return c
		}
	}
	return codes.Unknown
}

// curl runs curl with the command's arguments, its URLs on the suite's ports, and records the
// HTTP status (from a header dump, unless the command dumps the headers itself).
func (h *docsCmd) curl(args []string) ([]byte, int) {
	args = append([]string(nil), args...)
	urls := 0
	for i, a := range args {
		scheme := ""
		rest := a
		for _, p := range []string{"https://", "http://"} {
			if r, ok := strings.CutPrefix(a, p); ok {
				scheme, rest = p, r
			}
		}
		if scheme == "" && !strings.HasPrefix(a, "localhost:") {
			continue
		}
		hostPort, path, _ := strings.Cut(rest, "/")
		addr, err := h.address(hostPort)
		if err != nil {
			h.res.Problem = err.Error()
			return nil, 1
		}
		args[i] = scheme + addr + "/" + path
		urls++
	}
	if urls != 1 {
		h.res.Problem = fmt.Sprintf("curl %q: want one URL", args)
		return nil, 1
	}
	var sent []string
	for i := 0; i+1 < len(args); i++ {
		if args[i] == "-H" {
			sent = append(sent, args[i+1])
		}
	}
	h.key = requestKey("", sent)
	headers := filepath.Join(h.srv.work, "curl-headers")
	_ = os.Remove(headers)
	cmd := exec.Command("curl", append([]string{"-D", headers}, args...)...)
	cmd.Dir = h.srv.work
	cmd.Stdin = bytes.NewReader(h.stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	exit := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		exit = ee.ExitCode()
		h.res.Problem = fmt.Sprintf("curl exited %d: %s", exit, strings.TrimSpace(stderr.String()))
	} else if err != nil {
		h.res.Problem = err.Error()
		return nil, 1
	}
	dump, _ := os.ReadFile(headers)
	if len(dump) == 0 {
		dump = out // the command's own -D -
	}
	if m := regexp.MustCompile(`(?m)^HTTP/[\d.]+ (\d{3})`).FindAllSubmatch(dump, -1); len(m) > 0 {
		h.res.Code = "HTTP " + string(m[len(m)-1][1])
	}
	if strings.HasPrefix(h.res.Code, "HTTP 2") {
		h.keep(out)
	} else {
		h.res.Message = strings.TrimSpace(string(out))
	}
	return out, exit
}

// wijkbrug runs a document's `go run ./cmd/wijkbrug …` as the wijkbrug command (this test
// binary in a process of its own, in the work directory, where .wijkbrug is the suite's data):
// make run's ports in its arguments become the suite's, and the port flags it leaves at their
// defaults (make run's) are given the suite's. `events` follows the streams until stopped
// (docsCmd.program), once it has said on standard error that it reads. The command must exit 0
// and print something; what events prints must be events, within its -subject filter, and
// (unless it asks for new ones only or starts at a sequence) at least one.
func (h *docsCmd) wijkbrug(args []string) ([]byte, int) {
	words := 0
	for words < len(args) && !strings.HasPrefix(args[words], "-") {
		words++
	}
	if words == 0 {
		return h.problem("wijkbrug %q: no command", args)
	}
	exe, err := os.Executable()
	if err != nil {
		return h.problem("%v", err)
	}
	flags, err := h.srv.flagsOf(exe, args[:words], runAsCLI+"=1")
	if err != nil {
		return h.problem("%v", err)
	}
	args, given := h.mapArgs(args, words)
	_, dbURL := given["database-url"]
	_, dbTemplate := given["db"]
	for _, flag := range slices.Sorted(maps.Keys(h.srv.cliDefaults)) {
		value := h.srv.cliDefaults[flag]
		if flag == "pg-port" && (dbURL || dbTemplate) {
			continue // the database is named in full
		}
		if _, ok := given[flag]; !ok && flags[flag] {
			args = append(args, "-"+flag, value)
		}
	}
	events := args[0] == "events"
	ready := ""
	if events {
		// Not interrupted before it says it reads: `-since 42` need not print, and a start
		// slower than the quiet second (this test binary, race-instrumented, on a loaded
		// machine) was killed by the interrupt before it could handle one (exit -1).
		ready = `(?m)^events: reading `
	}
	out, exit := h.program(exe, args, []string{runAsCLI + "=1"}, events, events && replays(given), ready)
	if h.res.Problem != "" {
		return out, exit
	}
	if events {
		if err := checkEvents(out, given); err != nil {
			h.res.Problem = fmt.Sprintf("wijkbrug %s: %v", strings.Join(args, " "), err)
		}
	} else if len(bytes.TrimSpace(out)) == 0 {
		h.res.Problem = fmt.Sprintf("wijkbrug %s printed nothing", strings.Join(args, " "))
	}
	return out, exit
}

// subscriber runs a document's `go run ./examples/subscriber nats|webhook …` (built once), as
// wijkbrug runs its commands: make run's ports and the reader's own (the webhook receiver's
// 8443) become the test's, -url left at make run's NATS is given the suite's, and a file it
// keeps in /tmp is kept in the work directory. It follows until stopped: once it has said it
// is reading or receiving, it is interrupted after a quiet second, and must exit 0; every line
// it prints is an event it handled, and pulling it handles at least one.
func (h *docsCmd) subscriber(args []string) ([]byte, int) {
	if len(args) == 0 {
		return h.problem("subscriber: no mode")
	}
	if h.srv.subscriberBin == "" {
		bin, err := buildSubscriber(context.Background(), h.srv.work)
		if err != nil {
			return h.problem("%v", err)
		}
		h.srv.subscriberBin = bin
	}
	flags, err := h.srv.flagsOf(h.srv.subscriberBin, args[:1])
	if err != nil {
		return h.problem("%v", err)
	}
	args, given := h.mapArgs(args, 1)
	for i, a := range args {
		if rest, ok := strings.CutPrefix(a, "/tmp/"); ok {
			args[i] = filepath.Join(h.srv.work, "tmp-"+strings.ReplaceAll(rest, "/", "-"))
		}
	}
	if _, ok := given["url"]; !ok && flags["url"] {
		args = append(args, "-url", h.srv.cliDefaults["nats"])
	}
	// Pulling, it reads the GP's subscription from the start: the examples before made events.
	pulls := args[0] == "nats"
	out, exit := h.program(h.srv.subscriberBin, args, nil, true, pulls, "reading |receiving webhooks on ")
	if h.res.Problem != "" {
		return out, exit
	}
	handled := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if line != "" && !strings.Contains(line, " subject=") && !strings.HasPrefix(line, "repeat of ") {
			h.res.Problem = fmt.Sprintf("subscriber %s printed a line that is no event: %q", strings.Join(args, " "), line)
		}
		if line != "" {
			handled++
		}
	}
	if pulls && handled == 0 {
		h.res.Problem = fmt.Sprintf("subscriber %s handled no event of the GP's subscription", strings.Join(args, " "))
	}
	return out, exit
}

func (h *docsCmd) problem(format string, a ...any) ([]byte, int) {
	h.res.Problem = fmt.Sprintf(format, a...)
	return nil, 1
}

// mapArgs gives back args with make run's ports (and the reader's own, st.ports) as the
// test's, and the flags given after the first words (name → value; "" for one without).
func (h *docsCmd) mapArgs(args []string, words int) ([]string, map[string]string) {
	given := map[string]string{}
	args = slices.Clone(args)
	for i := words; i < len(args); i++ {
		args[i] = h.mapPorts(args[i])
		if name, ok := strings.CutPrefix(args[i], "-"); ok {
			name, value, hasValue := strings.Cut(strings.TrimPrefix(name, "-"), "=")
			if !hasValue && i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") {
				value = args[i+1]
			}
			given[name] = value
		}
	}
	return args, given
}

// mapPorts replaces a documented 127.0.0.1:port or localhost:port in s by the test's.
func (h *docsCmd) mapPorts(s string) string {
	for documented, own := range h.st.ports {
		_, ownPort, _ := net.SplitHostPort(own)
		for _, host := range []string{"127.0.0.1", "localhost"} {
			s = regexp.MustCompile(regexp.QuoteMeta(host+":"+documented)+`\b`).ReplaceAllString(s, host+":"+ownPort)
		}
	}
	return s
}

// program runs exe with args in the work directory, its input the command's, and returns what
// it printed and its exit code; a non-zero exit or a run over 90 s is the command's problem.
// One that follows until stopped gets an interrupt, as a reader's Ctrl-C, once it has printed
// nothing for a second: after its first line where it must print (a slow start must not cut
// it short), after the line ready matches on its standard error where it says it has started,
// or after 30 s in any case.
func (h *docsCmd) program(exe string, args, env []string, follows, mustPrint bool, ready string) ([]byte, int) {
	name := filepath.Base(exe) + " " + strings.Join(args, " ")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, exe, args...)
	cmd.Dir = h.srv.work
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdin = bytes.NewReader(h.stdin)
	var stdout, stderr syncBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		return h.problem("%v", err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var readyLine *regexp.Regexp
	if ready != "" {
		readyLine = regexp.MustCompile(ready)
	}
	var runErr error
	for printed, started, quietSince := 0, time.Now(), time.Now(); ; {
		select {
		case runErr = <-done:
		case <-time.After(200 * time.Millisecond):
			if n := stdout.Len(); n != printed {
				printed, quietSince = n, time.Now()
			}
			begun := (printed > 0 || !mustPrint) && (readyLine == nil || readyLine.Match(stderr.Bytes()))
			if follows && (begun && time.Since(quietSince) > time.Second || time.Since(started) > 30*time.Second) {
				_ = cmd.Process.Signal(os.Interrupt)
				follows = false
			}
			continue
		}
		break
	}
	out := stdout.Bytes()
	exit := cmd.ProcessState.ExitCode()
	if readyLine != nil && !readyLine.Match(stderr.Bytes()) {
		h.res.Problem = fmt.Sprintf("%s never said it had started (%s):\n%s", name, ready, stderr.Bytes())
		return out, max(exit, 1)
	}
	if runErr != nil || exit != 0 {
		if ctx.Err() != nil {
			return h.problem("%s did not end within 90 s", name)
		}
		h.res.Problem = fmt.Sprintf("%s exited %d: %s", name, exit, bytes.TrimSpace(stderr.Bytes()))
		return out, max(exit, 1)
	}
	h.res.Code = "OK"
	return out, exit
}

// checkEvents checks what `wijkbrug events` printed, given its flags: one event (JSON with a
// type and a subject) a line, each subject within -subject, and at least one event where it
// replays the past from the start or a time.
func checkEvents(out []byte, flags map[string]string) error {
	var n int
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if line == "" {
			continue
		}
		var e struct{ Type, Subject string }
		if err := json.Unmarshal([]byte(line), &e); err != nil || e.Type == "" || e.Subject == "" {
			return fmt.Errorf("printed a line that is no event: %q", line)
		}
		if f, ok := flags["subject"]; ok && !subjectMatches(f, e.Subject) {
			return fmt.Errorf("printed %s on %s, outside -subject %s", e.Type, e.Subject, f)
		}
		n++
	}
	if n == 0 && replays(flags) {
		return errors.New("printed no event, where the examples before it made some")
	}
	return nil
}

// replays reports whether `wijkbrug events` with these flags prints events stored before it
// started: from the start or from a time, not -new only or from a sequence number (which may
// lie beyond the last).
func replays(flags map[string]string) bool {
	_, onlyNew := flags["new"]
	_, seqErr := strconv.Atoi(flags["since"])
	return !onlyNew && seqErr != nil
}

// subjectMatches reports whether a NATS subject is within a filter (* one token, > the rest).
func subjectMatches(filter, subject string) bool {
	f, s := strings.Split(filter, "."), strings.Split(subject, ".")
	for i, tok := range f {
		switch {
		case tok == ">":
			return len(s) > i
		case i >= len(s):
			return false
		case tok != "*" && tok != s[i]:
			return false
		}
	}
	return len(f) == len(s)
}

// flagsOf is the set of flags a program's command takes, from its -h.
func (srv *docsServer) flagsOf(exe string, command []string, env ...string) (map[string]bool, error) {
	key := exe + " " + strings.Join(command, " ")
	if f, ok := srv.cliFlags[key]; ok {
		return f, nil
	}
	cmd := exec.Command(exe, append(slices.Clone(command), "-h")...)
	cmd.Dir = srv.work
	cmd.Env = append(os.Environ(), env...)
	help, _ := cmd.CombinedOutput() // -h exits 0 (wijkbrug) or 2 (the flag package's ExitOnError)
	f := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^  -([a-z-]+)`).FindAllSubmatch(help, -1) {
		f[string(m[1])] = true
	}
	if len(f) == 0 {
		return nil, fmt.Errorf("%s -h lists no flags:\n%s", key, help)
	}
	srv.cliFlags[key] = f
	return f, nil
}
