package validate

import (
	"encoding/json"
	"fmt"
	"github.com/prometheus/prometheus/promql/parser"
	"regexp"
	"slices"
	"sort"
	"strings"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"github.com/wijkbrug/wijkbrug/pkg/config"
	"github.com/wijkbrug/wijkbrug/pkg/svc"
	casedirection "github.com/wijkbrug/wijkbrug/services/case-direction/service"
	intake "github.com/wijkbrug/wijkbrug/services/intake/service"
	providermonitoring "github.com/wijkbrug/wijkbrug/services/provider-monitoring/service"
	referral "github.com/wijkbrug/wijkbrug/services/referral/service"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
)

// Services maps each Deployment to the code of the service it runs.
var Services = map[string]func() svc.Spec{
	"intake":              intake.Spec,
	"case-direction":      casedirection.Spec,
	"provider-monitoring": providermonitoring.Spec,
	"referral":            referral.Spec,
}

// Setting is one setting a service's code reads.
type Setting struct {
	Env    string
	Secret bool
}

// Settings lists every setting of a service from its code: the shared svc.Config and the
// service's own Spec.Settings struct.
func Settings(spec svc.Spec) []Setting {
	var out []Setting
	items := config.Describe(&svc.Config{})
	if spec.Settings != nil {
		items = append(items, config.Describe(spec.Settings)...)
	}
	for _, it := range items {
		out = append(out, Setting{Env: it.Env, Secret: it.Secret})
	}
	return out
}

// Env says which overlay a rendering is for: prod additionally demands digests, several
// replicas of PostgreSQL with a synchronous standby and backups.
type Env struct {
	Prod bool
	// ForeignOINs are OINs that may not appear in this overlay's settings (prod: dev's).
	ForeignOINs []string
	// Metrics are the metric names the services export (svc.MetricNames).
	Metrics []string
}

var (
	tagRe    = regexp.MustCompile(`^[^@]+:([A-Za-z0-9_][A-Za-z0-9_.-]{0,127})(@sha256:[0-9a-f]{64})?$`)
	digestRe = regexp.MustCompile(`@sha256:[0-9a-f]{64}$`)
	oinRe    = regexp.MustCompile(`\b\d{20}\b`)
)

// Check applies the deployment policies to a rendered overlay and returns every violation.
func Check(objs []Object, env Env) []string {
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }

	configMaps := map[string]*corev1.ConfigMap{}
	hpas := map[string]*autoscalingv2.HorizontalPodAutoscaler{}
	var connections []serviceConnections
	var deployments []*appsv1.Deployment
	var netpols []*networkingv1.NetworkPolicy
	var rules []*monitoringv1.PrometheusRule
	scraped := false
	var clusters []*Cluster
	backups, databases := 0, map[string]string{}
	for _, o := range objs {
		switch v := o.Obj.(type) {
		case *corev1.ConfigMap:
			configMaps[v.Name] = v
		case *autoscalingv2.HorizontalPodAutoscaler:
			hpas[v.Spec.ScaleTargetRef.Kind+"/"+v.Spec.ScaleTargetRef.Name] = v
		case *appsv1.Deployment:
			deployments = append(deployments, v)
		case *networkingv1.NetworkPolicy:
			netpols = append(netpols, v)
		case *monitoringv1.PrometheusRule:
			rules = append(rules, v)
		case *monitoringv1.PodMonitor, *monitoringv1.ServiceMonitor:
			scraped = true
		case *Cluster:
			clusters = append(clusters, v)
		case *ScheduledBackup:
			backups++
		case *Database:
			databases[v.Spec.Name] = v.Spec.Owner
		}
	}

	seen := map[string]bool{}
	for _, d := range deployments {
		name := d.Name
		seen[name] = true
		if d.Spec.Replicas != nil && hpas["Deployment/"+name] != nil {
			bad("Deployment %s: replicas is set although an HPA scales it (every apply would reset the HPA's count)", name)
		}
		pod := d.Spec.Template.Spec
		podNonRoot := pod.SecurityContext != nil && pod.SecurityContext.RunAsNonRoot != nil && *pod.SecurityContext.RunAsNonRoot
		var mainImage string
		for i, c := range append(slices.Clone(pod.InitContainers), pod.Containers...) {
			isInit := i < len(pod.InitContainers)
			where := fmt.Sprintf("Deployment %s container %s", name, c.Name)
			checkContainer(where, c, isInit, podNonRoot, env, bad)
			if !isInit && c.Name == name {
				mainImage = c.Image
			}
		}
		spec, ok := Services[name]
		if !ok {
			continue
		}
		var main *corev1.Container
		for i := range pod.Containers {
			if pod.Containers[i].Name == name {
				main = &pod.Containers[i]
			}
		}
		if main == nil {
			bad("Deployment %s: no container named %s", name, name)
			continue
		}
		migrates := false
		for _, c := range pod.InitContainers {
			if slices.Equal(c.Args, []string{"migrate"}) {
				migrates = true
				if c.Image != mainImage {
					bad("Deployment %s: the migrate init container runs %s, the service %s", name, c.Image, mainImage)
				}
			}
		}
		if !migrates {
			bad("Deployment %s: no init container runs `%s migrate`", name, name)
		}
		var migrate *corev1.Container
		for i := range pod.InitContainers {
			if slices.Equal(pod.InitContainers[i].Args, []string{"migrate"}) {
				migrate = &pod.InitContainers[i]
			}
		}
		mainValues := checkSettings(name, spec(), main, migrate, pod, configMaps, env, bad)
		connections = append(connections, serviceConnections{service: name, role: spec().Name + "_app",
			pods: maxPods(d, hpas["Deployment/"+name]), perPod: podConnections(name, mainValues, bad)})
	}
	for name := range Services {
		if !seen[name] {
			bad("no Deployment for service %s", name)
		}
	}

	telemetry := false
	for _, np := range netpols {
		for _, e := range np.Spec.Egress {
			for _, p := range e.Ports {
				if p.Port != nil && (p.Port.IntValue() == 4317 || p.Port.IntValue() == 4318) {
					telemetry = true
				}
			}
		}
	}
	if len(netpols) == 0 {
		bad("no NetworkPolicy")
	} else if !telemetry {
		bad("no NetworkPolicy allows egress to the OpenTelemetry collector (4317/4318)")
	}
	if !scraped {
		bad("no PodMonitor or ServiceMonitor scrapes the services")
	}
	if len(rules) == 0 {
		bad("no PrometheusRule")
	}
	for _, r := range rules {
		for _, g := range r.Spec.Groups {
			for _, rule := range g.Rules {
				for _, p := range UnknownMetrics(rule.Expr.String(), env.Metrics) {
					bad("PrometheusRule %s alert %s: %s", r.Name, rule.Alert, p)
				}
			}
		}
	}
	if cm, ok := configMaps["wijkbrug-dashboard"]; !ok {
		bad("no Grafana dashboard ConfigMap wijkbrug-dashboard")
	} else {
		for file, text := range cm.Data {
			problems = append(problems, CheckDashboard(file, []byte(text), env.Metrics)...)
		}
	}
	checkPostgres(clusters, backups, databases, env, bad)
	checkConnections(connections, clusters, bad)
	checkWebhookEgress(deployments, netpols, bad)
	sort.Strings(problems)
	return problems
}

func checkContainer(where string, c corev1.Container, isInit, podNonRoot bool, env Env, bad func(string, ...any)) {
	if !tagRe.MatchString(c.Image) {
		bad("%s: image %q has no tag", where, c.Image)
	} else if m := tagRe.FindStringSubmatch(c.Image); m[1] == "latest" {
		bad("%s: image %q uses latest", where, c.Image)
	}
	if env.Prod && !digestRe.MatchString(c.Image) {
		bad("%s: image %q is not pinned by digest", where, c.Image)
	}
	for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		if _, ok := c.Resources.Requests[r]; !ok {
			bad("%s: no %s request", where, r)
		}
		if _, ok := c.Resources.Limits[r]; !ok {
			bad("%s: no %s limit", where, r)
		}
	}
	sc := c.SecurityContext
	if sc == nil {
		bad("%s: no securityContext", where)
		return
	}
	if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		bad("%s: privilege escalation not disabled", where)
	}
	if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
		bad("%s: root filesystem not read-only", where)
	}
	if (sc.RunAsNonRoot == nil && !podNonRoot) || (sc.RunAsNonRoot != nil && !*sc.RunAsNonRoot) || (sc.RunAsUser != nil && *sc.RunAsUser == 0) {
		bad("%s: may run as root", where)
	}
	if sc.Privileged != nil && *sc.Privileged {
		bad("%s: privileged", where)
	}
	if sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") {
		bad("%s: capabilities not dropped", where)
	}
	if !isInit && (c.ReadinessProbe == nil || c.LivenessProbe == nil || c.StartupProbe == nil) {
		bad("%s: needs readiness, liveness and startup probes", where)
	}
}

// checkSettings: every setting of the service's code is set on the service container or on
// the migrate init container (the owner's database URL belongs there only), secrets only as
// *_FILE naming a file under a volume mounted in that container, and never through an envFrom
// Secret; a setting both containers have is checked in each. It returns the service
// container's settings.
func checkSettings(name string, spec svc.Spec, main, migrate *corev1.Container, pod corev1.PodSpec, configMaps map[string]*corev1.ConfigMap, env Env, bad func(string, ...any)) map[string]string {
	mainValues := containerValues(name, main, configMaps, bad)
	var migrateValues map[string]string
	if migrate != nil {
		migrateValues = containerValues(name, migrate, configMaps, bad)
	}
	has := func(values map[string]string, s Setting) bool {
		_, direct := values[s.Env]
		_, viaFile := values[s.Env+"_FILE"]
		return direct || viaFile
	}
	for _, s := range Settings(spec) {
		inMigrate := migrate != nil && has(migrateValues, s)
		// A setting the migrate container has (its owner URL, the encryption keys it
		// re-encrypts with) is checked there too: a key file outside its mounts would stop
		// the pod before the service starts.
		if has(mainValues, s) || !inMigrate {
			checkSetting(name, s, main, pod, mainValues, env, bad)
		}
		if inMigrate {
			checkSetting(name, s, migrate, pod, migrateValues, env, bad)
		}
	}
	return mainValues
}

// containerValues is a container's environment as the kubelet builds it: of the envFrom
// sources, the last one having a key wins (a service's own ConfigMap over wijkbrug-config),
// and env over all of them.
func containerValues(name string, c *corev1.Container, configMaps map[string]*corev1.ConfigMap, bad func(string, ...any)) map[string]string {
	values := map[string]string{}
	for _, ef := range c.EnvFrom {
		if ef.SecretRef != nil {
			bad("Deployment %s: secret %s in the environment (envFrom); mount it and use *_FILE", name, ef.SecretRef.Name)
		}
		if ef.ConfigMapRef != nil {
			cm, ok := configMaps[ef.ConfigMapRef.Name]
			if !ok {
				bad("Deployment %s: ConfigMap %s is not part of the overlay", name, ef.ConfigMapRef.Name)
				continue
			}
			for k, v := range cm.Data {
				values[ef.Prefix+k] = v
			}
		}
	}
	for _, e := range c.Env {
		values[e.Name] = e.Value
	}
	return values
}

func checkSetting(name string, s Setting, c *corev1.Container, pod corev1.PodSpec, values map[string]string, env Env, bad func(string, ...any)) {
	{
		v, direct := values[s.Env]
		file, viaFile := values[s.Env+"_FILE"]
		switch {
		case !direct && !viaFile:
			bad("Deployment %s: setting %s is not set", name, s.Env)
		case s.Secret && direct && !(strings.HasPrefix(v, "/") && underSecretMount(v, c, pod)):
			// A secret setting whose value is a path (WIJKBRUG_TLS_KEY) names a mounted file.
			bad("Deployment %s: secret setting %s given as a value; mount it and use %s_FILE", name, s.Env, s.Env)
		case viaFile && !underMount(file, c):
			bad("Deployment %s: %s_FILE=%s is not under a mounted volume", name, s.Env, file)
		}
		if strings.Contains(s.Env, "_OIN") {
			for _, oin := range env.ForeignOINs {
				if strings.Contains(v, oin) {
					bad("Deployment %s: %s uses OIN %s of another environment (the demo organisations)", name, s.Env, oin)
				}
			}
		}
	}
}

func underSecretMount(path string, c *corev1.Container, pod corev1.PodSpec) bool {
	for _, m := range c.VolumeMounts {
		if !strings.HasPrefix(path, strings.TrimSuffix(m.MountPath, "/")+"/") {
			continue
		}
		for _, v := range pod.Volumes {
			if v.Name == m.Name && v.Secret != nil {
				return true
			}
		}
	}
	return false
}

func underMount(path string, c *corev1.Container) bool {
	for _, m := range c.VolumeMounts {
		if strings.HasPrefix(path, strings.TrimSuffix(m.MountPath, "/")+"/") {
			return true
		}
	}
	return false
}

// OINs returns every OIN that the settings of a rendered overlay name.
func OINs(objs []Object) []string {
	var out []string
	for _, o := range objs {
		if cm, ok := o.Obj.(*corev1.ConfigMap); ok {
			for k, v := range cm.Data {
				if strings.Contains(k, "_OIN") {
					out = append(out, oinRe.FindAllString(v, -1)...)
				}
			}
		}
	}
	return out
}

func checkPostgres(clusters []*Cluster, backups int, databases map[string]string, env Env, bad func(string, ...any)) {
	if len(clusters) != 1 {
		bad("want one CloudNativePG Cluster, have %d", len(clusters))
		return
	}
	c := clusters[0]
	roles := map[string]Role{}
	if c.Spec.Managed != nil {
		for _, r := range c.Spec.Managed.Roles {
			roles[r.Name] = r
		}
	}
	for _, spec := range Services {
		db := spec().Name
		owner, ok := databases[db]
		if !ok {
			bad("Cluster %s: no Database %s", c.Name, db)
		} else if owner != db+"_owner" {
			bad("Database %s: owner %s, want %s_owner (migrations run as the owner)", db, owner, db)
		}
		for _, role := range []string{db + "_owner", db + "_app"} {
			r, ok := roles[role]
			if !ok || !r.Login || r.PasswordSecret == nil {
				bad("Cluster %s: no managed login role %s with a password secret", c.Name, role)
			}
			if r.Superuser || r.CreateRole || r.CreateDB {
				bad("Cluster %s: role %s has more than it needs", c.Name, role)
			}
		}
	}
	if !env.Prod {
		return
	}
	if c.Spec.Instances < 3 {
		bad("Cluster %s: %d instances, want at least 3 in production", c.Name, c.Spec.Instances)
	}
	if c.Spec.PostgreSQL == nil || c.Spec.PostgreSQL.Synchronous == nil || c.Spec.PostgreSQL.Synchronous.Number < 1 {
		bad("Cluster %s: no synchronous standby", c.Name)
	}
	if c.Spec.Backup == nil || c.Spec.Backup.BarmanObjectStore == nil || c.Spec.Backup.BarmanObjectStore.DestinationPath == "" {
		bad("Cluster %s: no backups to object storage", c.Name)
	}
	if backups == 0 {
		bad("Cluster %s: no ScheduledBackup", c.Name)
	}
}

// grafanaRanges are the range variables Grafana fills in before a query reaches Prometheus.
var grafanaRanges = regexp.MustCompile(`\$(__rate_interval|__interval|__range)\b`)

// MetricRefs returns the metric names a PromQL expression selects, read with Prometheus's own
// parser; a Grafana range variable counts as 5m. An expression that does not parse is an error.
func MetricRefs(expr string) ([]string, error) {
	e, err := parser.NewParser(parser.Options{}).ParseExpr(grafanaRanges.ReplaceAllString(expr, "5m"))
	if err != nil {
		return nil, err
	}
	var out []string
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		if vs, ok := n.(*parser.VectorSelector); ok && vs.Name != "" {
			out = append(out, vs.Name)
		}
		return nil
	})
	return out, nil
}

// UnknownMetrics lists the problems of an expression: metric names not in known (histogram
// series name_bucket/_sum/_count count as name), or no metric at all.
func UnknownMetrics(expr string, known []string) []string {
	refs, err := MetricRefs(expr)
	if err != nil {
		return []string{fmt.Sprintf("expression %q does not parse: %v", expr, err)}
	}
	if len(refs) == 0 {
		return []string{fmt.Sprintf("expression %q selects no metric", expr)}
	}
	var out []string
	for _, r := range refs {
		base := r
		for _, suf := range []string{"_bucket", "_sum", "_count"} {
			if b, ok := strings.CutSuffix(r, suf); ok && slices.Contains(known, b) {
				base = b
			}
		}
		if !slices.Contains(known, base) && base != "up" && base != "time" {
			out = append(out, fmt.Sprintf("metric %s is not exported by the services", r))
		}
	}
	return out
}

// CheckDashboard parses a Grafana dashboard and checks every panel query.
func CheckDashboard(file string, b []byte, known []string) []string {
	var d struct {
		Title  string `json:"title"`
		UID    string `json:"uid"`
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		return []string{fmt.Sprintf("dashboard %s: %v", file, err)}
	}
	var out []string
	if d.UID == "" || len(d.Panels) == 0 {
		out = append(out, fmt.Sprintf("dashboard %s: no uid or no panels", file))
	}
	for _, p := range d.Panels {
		if len(p.Targets) == 0 {
			out = append(out, fmt.Sprintf("dashboard %s panel %q: no query", file, p.Title))
		}
		for _, t := range p.Targets {
			for _, prob := range UnknownMetrics(t.Expr, known) {
				out = append(out, fmt.Sprintf("dashboard %s panel %q: %s", file, p.Title, prob))
			}
		}
	}
	return out
}
