package config

import (
	"flag"
	"os"
	"strings"
	"testing"
	"time"
)

type sample struct {
	Addr    string        `env:"T_ADDR" flag:"addr" default:":1"`
	Conns   int           `env:"T_CONNS" flag:"conns" default:"4"`
	On      bool          `env:"T_ON" flag:"on" default:"false"`
	Grace   time.Duration `env:"T_GRACE" flag:"grace" default:"2s"`
	Secret  string        `env:"T_SECRET" flag:"secret" secret:"true"`
	Ignored string
}

func TestPrecedence(t *testing.T) {
	t.Setenv("T_CONNS", "8")
	t.Setenv("T_GRACE", "5s")
	t.Setenv("T_SECRET", "hunter2")
	var c sample
	if err := Load(flag.NewFlagSet("t", flag.ContinueOnError), []string{"-grace", "7s", "-on"}, &c); err != nil {
		t.Fatal(err)
	}
	if c.Addr != ":1" || c.Conns != 8 || !c.On || c.Grace != 7*time.Second || c.Secret != "hunter2" {
		t.Fatalf("got %+v", c)
	}
	for _, it := range Describe(&c) {
		if it.Env == "T_SECRET" && it.Value != "***" {
			t.Fatalf("secret not masked: %q", it.Value)
		}
	}
}

func TestBadValues(t *testing.T) {
	t.Setenv("T_CONNS", "many")
	var c sample
	if err := Load(flag.NewFlagSet("t", flag.ContinueOnError), nil, &c); err == nil {
		t.Fatal("a bad environment value must be an error")
	}
	t.Setenv("T_CONNS", "1")
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(discard{})
	if err := Load(fs, []string{"-grace", "soon"}, &c); err == nil {
		t.Fatal("a bad flag value must be an error")
	}
	// Every bad value is named at once, not the first one only (README probe, thirty-fourth
	// session), with a command line and without one.
	t.Setenv("T_CONNS", "many")
	t.Setenv("T_GRACE", "soon")
	t.Setenv("T_ON", "perhaps")
	for name, err := range map[string]error{
		"Load":         Load(flag.NewFlagSet("t", flag.ContinueOnError), nil, &sample{}),
		"RegisterWith": RegisterWith(flag.NewFlagSet("t", flag.ContinueOnError), &sample{}, nil),
	} {
		for _, env := range []string{"T_CONNS", "T_GRACE", "T_ON"} {
			if err == nil || !strings.Contains(err.Error(), env) {
				t.Errorf("%s: %v, want %s named with the others", name, err, env)
			}
		}
	}
}

// A flag wins over the environment, a value of it that does not parse included: an operator
// who gives the flag need not first mend the environment. Without the flag the bad value is
// an error naming the variable; with RegisterWith (no command line) it always is.
func TestFlagWinsOverABadEnvironmentValue(t *testing.T) {
	t.Setenv("T_CONNS", "many")
	var c sample
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	if err := Load(fs, []string{"-conns", "6"}, &c); err != nil || c.Conns != 6 {
		t.Fatalf("with the flag given: %v, conns %d", err, c.Conns)
	}
	err := Load(flag.NewFlagSet("t", flag.ContinueOnError), nil, &sample{})
	if err == nil || !strings.Contains(err.Error(), "T_CONNS") {
		t.Fatalf("without the flag: %v, want an error naming T_CONNS", err)
	}
	if err := RegisterWith(flag.NewFlagSet("t", flag.ContinueOnError), &sample{}, nil); err == nil || !strings.Contains(err.Error(), "T_CONNS") {
		t.Fatalf("RegisterWith: %v, want an error naming T_CONNS", err)
	}
}

// OINs reads a list of OINs and refuses anything else, naming the setting.
func TestOINs(t *testing.T) {
	got, err := OINs("X", " 00000001002564440000, ,00000001002564440001")
	if err != nil || len(got) != 2 || got[1] != "00000001002564440001" {
		t.Fatalf("OINs: %v %v", got, err)
	}
	for _, bad := range []string{"set-in-your-overlay:oins-of-the-privacy-officers", "abc,12", "0000000100256444000"} {
		if _, err := OINs("X", bad); err == nil || !strings.HasPrefix(err.Error(), "X: ") {
			t.Errorf("%q: %v, want an error naming X", bad, err)
		}
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// An empty variable counts as not set: the default holds (T_CONNS= had made it 0, which for
// a rate limit or a retention means "off").
func TestEmptyVariableKeepsTheDefault(t *testing.T) {
	t.Setenv("T_CONNS", "")
	t.Setenv("T_GRACE", "")
	var c sample
	if err := Load(flag.NewFlagSet("t", flag.ContinueOnError), nil, &c); err != nil || c.Conns != 4 || c.Grace != 2*time.Second {
		t.Fatalf("empty variables: conns %d, grace %s, %v; want the defaults 4 and 2s", c.Conns, c.Grace, err)
	}
}

func TestSecretFromFile(t *testing.T) {
	path := t.TempDir() + "/secret"
	if err := os.WriteFile(path, []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("T_SECRET_FILE", path)
	var c sample
	if err := Load(flag.NewFlagSet("t", flag.ContinueOnError), nil, &c); err != nil {
		t.Fatal(err)
	}
	if c.Secret != "from-file" {
		t.Fatalf("secret = %q", c.Secret)
	}
	t.Setenv("T_SECRET_FILE", path+"-missing")
	if err := Load(flag.NewFlagSet("t", flag.ContinueOnError), nil, &c); err == nil {
		t.Fatal("a missing secret file must be an error")
	}
	// An empty variable counts as not set: the file gives the value.
	t.Setenv("T_SECRET_FILE", path)
	t.Setenv("T_SECRET", "")
	if err := Load(flag.NewFlagSet("t", flag.ContinueOnError), nil, &c); err != nil || c.Secret != "from-file" {
		t.Fatalf("an empty variable beside its file: %q %v", c.Secret, err)
	}
	// An empty X_FILE counts as not set too.
	t.Setenv("T_SECRET_FILE", "")
	t.Setenv("T_SECRET", "from-env")
	if err := Load(flag.NewFlagSet("t", flag.ContinueOnError), nil, &c); err != nil || c.Secret != "from-env" {
		t.Fatalf("an empty file variable beside the variable: %q %v", c.Secret, err)
	}
	// Both the variable and its file: which was meant cannot be told (the variable won).
	t.Setenv("T_SECRET_FILE", path)
	t.Setenv("T_SECRET", "from-env")
	if err := Load(flag.NewFlagSet("t", flag.ContinueOnError), nil, &c); err == nil || !strings.Contains(err.Error(), "T_SECRET and T_SECRET_FILE are both set") {
		t.Fatalf("a variable and its file both set: %v", err)
	}
}

func TestRegisterSharesOneCommandLine(t *testing.T) {
	var a sample
	var b struct {
		Interval time.Duration `env:"WIJKBRUG_T_SCHEDULER_INTERVAL" default:"1m" usage:"derived flag"`
	}
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	if err := Register(fs, &a); err != nil {
		t.Fatal(err)
	}
	if err := Register(fs, &b); err != nil {
		t.Fatal(err)
	}
	if err := fs.Parse([]string{"-addr", ":9", "-t-scheduler-interval", "5s"}); err != nil {
		t.Fatal(err)
	}
	if a.Addr != ":9" || b.Interval != 5*time.Second {
		t.Fatalf("got %q %s", a.Addr, b.Interval)
	}
	if d := Describe(&b); len(d) != 1 || d[0].Flag != "t-scheduler-interval" || d[0].Value != "5s" {
		t.Fatalf("describe: %+v", d)
	}
}

// Values given by the embedding program win over the environment and the default, and are
// checked like any other.
func TestRegisterWithGivenValues(t *testing.T) {
	t.Setenv("T_CONNS", "8")
	var c sample
	if err := RegisterWith(flag.NewFlagSet("t", flag.ContinueOnError), &c, map[string]string{"T_CONNS": "16", "T_ADDR": ":9"}); err != nil {
		t.Fatal(err)
	}
	if c.Conns != 16 || c.Addr != ":9" || c.Grace != 2*time.Second {
		t.Fatalf("got %+v", c)
	}
	if err := RegisterWith(flag.NewFlagSet("t", flag.ContinueOnError), &c, map[string]string{"T_CONNS": "many"}); err == nil {
		t.Fatal("a bad given value must be refused")
	}
}
