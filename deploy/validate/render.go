package validate

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	serjson "k8s.io/apimachinery/pkg/runtime/serializer/json"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// Object is one rendered object, decoded into its type.
type Object struct {
	Kind, Name string
	Obj        any
}

var scheme = func() *runtime.Scheme {
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{corev1.AddToScheme, appsv1.AddToScheme, policyv1.AddToScheme,
		autoscalingv2.AddToScheme, networkingv1.AddToScheme, batchv1.AddToScheme, monitoringv1.AddToScheme} {
		if err := add(s); err != nil {
			panic(err)
		}
	}
	return s
}()

var strict = serjson.NewSerializerWithOptions(serjson.DefaultMetaFactory, scheme, scheme,
	serjson.SerializerOptions{Yaml: true, Strict: true})

// Render builds the kustomization at path in fsys (kustomize as a library, as
// `kubectl kustomize` does) and decodes every object strictly: an unknown or duplicated field
// or a wrong type is an error, as the API server's strict field validation would report.
func Render(fsys filesys.FileSystem, path string) ([]Object, error) {
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	rm, err := k.Run(fsys, path)
	if err != nil {
		return nil, fmt.Errorf("kustomize %s: %w", path, err)
	}
	var out []Object
	for _, res := range rm.Resources() {
		y, err := res.AsYAML()
		if err != nil {
			return nil, err
		}
		o, err := decode(res.GetKind(), y)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", res.GetKind(), res.GetName(), err)
		}
		out = append(out, Object{Kind: res.GetKind(), Name: res.GetName(), Obj: o})
	}
	return out, nil
}

func decode(kind string, y []byte) (any, error) {
	var typed any
	switch kind {
	case "Cluster":
		typed = &Cluster{}
	case "ScheduledBackup":
		typed = &ScheduledBackup{}
	case "Database":
		typed = &Database{}
	}
	if typed != nil {
		j, err := yaml.YAMLToJSON(y)
		if err != nil {
			return nil, err
		}
		dec := json.NewDecoder(bytes.NewReader(j))
		dec.DisallowUnknownFields()
		if err := dec.Decode(typed); err != nil {
			return nil, fmt.Errorf("strict decode (CloudNativePG schema subset): %w", err)
		}
		return typed, nil
	}
	var gvk *schema.GroupVersionKind
	obj, gvk, err := strict.Decode(y, gvk, nil)
	if err != nil {
		return nil, fmt.Errorf("strict decode: %w", err)
	}
	return obj, nil
}

// DiskFS returns the repository's deploy directory as a file system for Render, and its path.
func DiskFS() (filesys.FileSystem, string, error) {
	dir, err := filepath.Abs("..")
	if err != nil {
		return nil, "", err
	}
	if _, err := os.Stat(filepath.Join(dir, "base", "kustomization.yaml")); err != nil {
		return nil, "", err
	}
	return filesys.MakeFsOnDisk(), dir, nil
}

// MemFS copies the deploy directory into memory, so a test can break a copy of it.
func MemFS(dir string) (filesys.FileSystem, error) {
	mem := filesys.MakeFsInMemory()
	err := filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return mem.WriteFile(p, b)
	})
	return mem, err
}
