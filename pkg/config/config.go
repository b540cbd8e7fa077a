// Package config fills configuration structs from environment variables with matching
// command-line flags (a flag wins over the environment, the environment over the default).
// Fields are described by tags:
//
//	Addr string `env:"WIJKBRUG_GRPC_ADDR" flag:"grpc-addr" default:":50051" usage:"gRPC listen address"`
//	Key  string `env:"WIJKBRUG_BSN_KEY" flag:"bsn-key" secret:"true" usage:"..."`
//
// Every environment variable X may instead be given as a file named by X_FILE.
// Supported kinds: string, bool, int, time.Duration, and nested structs (flattened).
package config

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// Item describes one setting, for help output, the README table and masked start-up logs.
type Item struct {
	Env, Flag, Default, Usage string
	Secret                    bool
	Value                     string
}

// Load parses args into cfg (a pointer to a struct) using fs.
func Load(fs *flag.FlagSet, args []string, cfg any) error {
	if err := Register(fs, cfg); err != nil {
		return err
	}
	return Parse(fs, args)
}

// Register fills cfg from defaults and the environment and registers its flags on fs, so
// that several structs can share one command line; the caller parses fs with Parse. A field
// with an env tag but no flag tag gets a flag named after the variable: WIJKBRUG_FOO_BAR →
// -foo-bar. An environment value that does not parse is an error of Parse, unless its flag is
// given: the flag wins over the environment, a wrong value in it included.
func Register(fs *flag.FlagSet, cfg any) error {
	return register(fs, cfg, nil, true)
}

// Parse parses args with fs and then reports every environment value, of the settings
// Register put on fs, that did not parse and was not overridden by its flag (all at once).
func Parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		if v, ok := f.Value.(*flagValue); ok && v.envErr != nil {
			errs = append(errs, v.envErr)
		}
	})
	return errors.Join(errs...)
}

// RegisterWith is Register with values given by environment variable name that win over the
// environment: a program that embeds a service (the all-in-one command, tests) sets the
// service's own settings without touching its process environment. Its flags are not parsed,
// so every value that does not parse is an error here.
func RegisterWith(fs *flag.FlagSet, cfg any, given map[string]string) error {
	return register(fs, cfg, given, false)
}

func register(fs *flag.FlagSet, cfg any, given map[string]string, flagMayFix bool) error {
	fields, err := walk(cfg)
	if err != nil {
		return err
	}
	var errs []error // of the values that no flag can fix, all named at once
	for _, f := range fields {
		def := f.tag.Get("default")
		env := f.tag.Get("env")
		if f, both := os.LookupEnv(env + "_FILE"); both && f != "" && env != "" {
			if v, ok := os.LookupEnv(env); ok && v != "" {
				// Which one was meant cannot be told: a secret rotated in the file would be
				// shadowed by a forgotten variable.
				errs = append(errs, fmt.Errorf("%s and %s_FILE are both set: give one", env, env))
				continue
			}
		}
		if v, ok := given[env]; ok && env != "" {
			def = v
		} else if v, ok := os.LookupEnv(env); ok && env != "" && v != "" {
			// An empty variable counts as not set (X= in a manifest or shell): taken as a
			// value it made the default 0, and 0 switches rate limits and retention off.
			def = v
		} else if path, ok := os.LookupEnv(env + "_FILE"); ok && env != "" && path != "" {
			// Secrets mounted as files (Kubernetes secrets, Docker secrets) never pass
			// through the environment of the process.
			b, err := os.ReadFile(path)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s_FILE: %w", env, err))
				continue
			}
			def = strings.TrimRight(string(b), "\r\n")
		}
		fv := &flagValue{v: f.v}
		name := flagName(f.tag)
		if err := set(f.v, def); err != nil && def != "" {
			// Named as the range checks name a value: the variable, its flag, what it is.
			setting := f.tag.Get("env")
			if name != "" {
				setting += " (-" + name + ")"
			}
			fv.envErr = fmt.Errorf("%s is %q: %w", setting, def, err)
		}
		if fv.envErr != nil && (!flagMayFix || name == "") {
			errs = append(errs, fv.envErr)
			continue
		}
		if name != "" {
			fs.Var(fv, name, f.tag.Get("usage")+" (env "+f.tag.Get("env")+")")
		}
	}
	return errors.Join(errs...)
}

func flagName(tag reflect.StructTag) string {
	if name := tag.Get("flag"); name != "" {
		return name
	}
	return strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(tag.Get("env"), "WIJKBRUG_"), "_", "-"))
}

// Describe lists the settings of cfg with their current values (secrets masked).
func Describe(cfg any) []Item {
	fields, err := walk(cfg)
	if err != nil {
		return nil
	}
	items := make([]Item, 0, len(fields))
	for _, f := range fields {
		it := Item{Env: f.tag.Get("env"), Flag: flagName(f.tag), Default: f.tag.Get("default"),
			Usage: f.tag.Get("usage"), Secret: f.tag.Get("secret") == "true", Value: fmt.Sprint(f.v.Interface())}
		if it.Secret && it.Value != "" {
			it.Value = "***"
		}
		items = append(items, it)
	}
	return items
}

type field struct {
	v   reflect.Value
	tag reflect.StructTag
}

func walk(cfg any) ([]field, error) {
	rv := reflect.ValueOf(cfg)
	if rv.Kind() != reflect.Pointer || rv.Elem().Kind() != reflect.Struct {
		return nil, fmt.Errorf("config: want a pointer to a struct")
	}
	var out []field
	var rec func(v reflect.Value)
	rec = func(v reflect.Value) {
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			sf := t.Field(i)
			if !sf.IsExported() {
				continue
			}
			fv := v.Field(i)
			if sf.Type.Kind() == reflect.Struct && sf.Type != reflect.TypeOf(time.Duration(0)) {
				rec(fv)
				continue
			}
			if sf.Tag.Get("env") == "" && sf.Tag.Get("flag") == "" {
				continue
			}
			out = append(out, field{v: fv, tag: sf.Tag})
		}
	}
	rec(rv.Elem())
	return out, nil
}

func set(v reflect.Value, s string) error {
	switch v.Interface().(type) {
	case time.Duration:
		if s == "" {
			v.SetInt(0)
			return nil
		}
		d, err := time.ParseDuration(s)
		if err != nil {
			return errors.New("not a duration (such as 30s, 5m or 168h)")
		}
		v.SetInt(int64(d))
		return nil
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(s)
	case reflect.Bool:
		if s == "" {
			v.SetBool(false)
			return nil
		}
		b, err := strconv.ParseBool(s)
		if err != nil {
			return errors.New("not true or false")
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int32, reflect.Int64:
		if s == "" {
			v.SetInt(0)
			return nil
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return errors.New("not a whole number")
		}
		v.SetInt(n)
	default:
		return fmt.Errorf("unsupported kind %s", v.Kind())
	}
	return nil
}

// flagValue is a setting's flag; envErr is its environment value's error until the flag is
// given.
type flagValue struct {
	v      reflect.Value
	envErr error
}

func (f *flagValue) String() string {
	if !f.v.IsValid() {
		return ""
	}
	return fmt.Sprint(f.v.Interface())
}
func (f *flagValue) Set(s string) error {
	if err := set(f.v, s); err != nil {
		return err
	}
	f.envErr = nil
	return nil
}
func (f *flagValue) IsBoolFlag() bool { return f.v.IsValid() && f.v.Kind() == reflect.Bool }
