package validate

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/wijkbrug/wijkbrug/pkg/svc"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

func metrics(t *testing.T) []string {
	t.Helper()
	names, err := svc.MetricNames()
	if err != nil {
		t.Fatal(err)
	}
	return names
}

func render(t *testing.T, fsys filesys.FileSystem, dir, overlay string) []Object {
	t.Helper()
	objs, err := Render(fsys, filepath.Join(dir, "overlays", overlay))
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

// Every overlay renders, decodes strictly into the API types and passes every policy.
func TestOverlays(t *testing.T) {
	fsys, dir, err := DiskFS()
	if err != nil {
		t.Fatal(err)
	}
	dev := render(t, fsys, dir, "dev")
	prod := render(t, fsys, dir, "prod")
	known := metrics(t)
	for name, c := range map[string]struct {
		objs []Object
		env  Env
	}{
		"dev":  {dev, Env{Metrics: known}},
		"prod": {prod, Env{Prod: true, ForeignOINs: OINs(dev), Metrics: known}},
	} {
		t.Run(name, func(t *testing.T) {
			if len(c.objs) < 20 {
				t.Fatalf("only %d objects rendered", len(c.objs))
			}
			for _, p := range Check(c.objs, c.env) {
				t.Error(p)
			}
		})
	}
	if len(OINs(dev)) == 0 {
		t.Fatal("the dev overlay names no OIN: the prod check against demo OINs would be empty")
	}
}

// The checks fail on deliberately broken manifests: each mutation of a copy of deploy/ must
// be reported (or refused by the strict decoding).
func TestBrokenManifestsAreRejected(t *testing.T) {
	_, dir, err := DiskFS()
	if err != nil {
		t.Fatal(err)
	}
	devObjs := render(t, filesys.MakeFsOnDisk(), dir, "dev")
	cases := []struct {
		name, file, old, new, overlay, want string
	}{
		{"misspelt field", "base/intake.yaml", "readinessProbe:", "readynessProbe:", "prod", `unknown field "spec.template.spec.containers[0].readynessProbe"`},
		{"missing setting", "base/config.yaml", "  WIJKBRUG_RATE_BURST: \"400\"\n", "", "prod", "setting WIJKBRUG_RATE_BURST is not set"},
		{"missing service setting", "base/config.yaml", "  WIJKBRUG_INTAKE_OVERDUE_INTERVAL: 1m\n", "", "dev", "Deployment intake: setting WIJKBRUG_INTAKE_OVERDUE_INTERVAL is not set"},
		{"secret as a value", "base/referral.yaml", "WIJKBRUG_PSEUDONYM_KEY_FILE, value: /etc/wijkbrug/keys/pseudonym-key", "WIJKBRUG_PSEUDONYM_KEY, value: c2VjcmV0", "prod", "secret setting WIJKBRUG_PSEUDONYM_KEY given as a value"},
		{"secret via envFrom", "base/intake.yaml", "            - configMapRef: {name: intake-config}\n", "            - configMapRef: {name: intake-config}\n            - secretRef: {name: intake-db-app}\n", "prod", "secret intake-db-app in the environment"},
		{"no probe", "base/case-direction.yaml", "          livenessProbe:\n            httpGet: {path: /livez, port: admin}\n            periodSeconds: 10\n", "", "prod", "needs readiness, liveness and startup probes"},
		{"no limits", "base/referral.yaml", "            limits: {cpu: \"1\", memory: 512Mi}\n", "", "prod", "container referral: no cpu limit"},
		{"writable root", "base/provider-monitoring.yaml", "readOnlyRootFilesystem: true, runAsNonRoot: true, capabilities: {drop: [ALL]}}\n      containers:", "readOnlyRootFilesystem: false, runAsNonRoot: true, capabilities: {drop: [ALL]}}\n      containers:", "prod", "container migrate: root filesystem not read-only"},
		{"privilege escalation", "base/intake.yaml", "allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, capabilities: {drop: [ALL]}}\n      terminationGrace", "allowPrivilegeEscalation: true, readOnlyRootFilesystem: true, runAsNonRoot: true, capabilities: {drop: [ALL]}}\n      terminationGrace", "prod", "container intake: privilege escalation not disabled"},
		{"root", "base/referral.yaml", "runAsNonRoot: true, capabilities: {drop: [ALL]}}\n      containers:", "runAsNonRoot: false, capabilities: {drop: [ALL]}}\n      containers:", "dev", "Deployment referral container migrate: may run as root"},
		{"secret file outside a mount", "base/intake.yaml", "value: /etc/wijkbrug/keys/bsn-index-key", "value: /run/keys/bsn-index-key", "prod", "WIJKBRUG_BSN_INDEX_KEY_FILE=/run/keys/bsn-index-key is not under a mounted volume"},
		{"latest image", "overlays/dev/kustomization.yaml", "newTag: 0.1.0-dev}\n  - {name: wijkbrug/case-direction", "newTag: latest}\n  - {name: wijkbrug/case-direction", "dev", `image "ghcr.io/wijkbrug/intake:latest" uses latest`},
		{"untagged image", "overlays/dev/kustomization.yaml", "  - {name: wijkbrug/referral, newName: ghcr.io/wijkbrug/referral, newTag: 0.1.0-dev}\n", "", "dev", `image "wijkbrug/referral" has no tag`},
		{"no digest in prod", "overlays/prod/kustomization.yaml", `newTag: 0.1.0, digest: "sha256:0000000000000000000000000000000000000000000000000000000000000000"}` + "\n  - {name: wijkbrug/case-direction", "newTag: 0.1.0}\n  - {name: wijkbrug/case-direction", "prod", "is not pinned by digest"},
		{"replicas next to an HPA", "base/intake.yaml", "  revisionHistoryLimit: 5\n", "  revisionHistoryLimit: 5\n  replicas: 2\n", "prod", "Deployment intake: replicas is set although an HPA scales it"},
		{"no migrate step", "base/referral.yaml", `args: ["migrate"]`, `args: ["serve"]`, "prod", "no init container runs `referral migrate`"},
		{"demo OIN in prod", "overlays/prod/kustomization.yaml", `"set-in-your-overlay:oin-of-the-neighbourhood-team"`, `"00000001000000000100"`, "prod", "WIJKBRUG_DEFAULT_TEAM_OIN uses OIN 00000001000000000100 of another environment"},
		{"no telemetry egress", "base/networkpolicy.yaml", "      ports: [{port: 4317}, {port: 4318}]\n", "      ports: [{port: 9999}]\n", "prod", "no NetworkPolicy allows egress to the OpenTelemetry collector"},
		{"alert on a metric nobody exports", "monitoring/rules.yaml", "max by (service) (wijkbrug_outbox_backlog) > 1000", "max by (service) (wijkbrug_outbox_backlog_size) > 1000", "prod", "alert WijkbrugOutboxBacklog: metric wijkbrug_outbox_backlog_size is not exported"},
		{"alert that does not parse", "monitoring/rules.yaml", "max by (service) (wijkbrug_outbox_backlog) > 1000", "max by (service) (wijkbrug_outbox_backlog > 1000", "prod", "does not parse"},
		{"dashboard query that does not parse", "monitoring/wijkbrug-dashboard.json", "pgxpool_idle_conns{", "pgxpool_idle_conns{{", "prod", "does not parse"},
		{"dashboard on a metric nobody exports", "monitoring/wijkbrug-dashboard.json", "pgxpool_idle_conns{", "pgx_idle_conns{", "prod", `panel "PostgreSQL pool": metric pgx_idle_conns is not exported`},
		{"broken dashboard JSON", "monitoring/wijkbrug-dashboard.json", `"title": "Wijkbrug",`, `"title": "Wijkbrug"`, "prod", "dashboard wijkbrug-dashboard.json: invalid character"},
		{"no synchronous standby", "postgres/cluster.yaml", "      number: 1\n", "      number: 0\n", "prod", "no synchronous standby"},
		{"CNPG field misspelt", "postgres/cluster.yaml", "  instances: 3\n", "  instance: 3\n", "prod", `unknown field "instance"`},
		{"no backups", "postgres/cluster.yaml", "    barmanObjectStore:\n      destinationPath: s3://wijkbrug-backups/wijkbrug-pg\n", "    barmanObjectStore:\n      destinationPath: \"\"\n", "prod", "no backups to object storage"},
		{"pools over the connection budget (prod at the base's 16)", "overlays/prod/kustomization.yaml", "        WIJKBRUG_DATABASE_MAX_CONNS: \"7\"\n", "", "prod", "database connections: case-direction 11 pods × 17 + intake 11 pods × 17 + provider-monitoring 11 pods × 17 + referral 11 pods × 17 = 748 at full scale, more than Cluster wijkbrug-pg's max_connections 400 less 40 reserved = 360"},
		{"more replicas than the budget has connections for", "base/referral.yaml", "  maxReplicas: 10\n", "  maxReplicas: 14\n", "prod", "referral 15 pods × 8"},
		{"a smaller max_connections", "postgres/cluster.yaml", `max_connections: "400"`, `max_connections: "300"`, "prod", "max_connections 300 less 40 reserved = 260"},
		{"a service's own pool size wins over the shared one", "base/config.yaml", "  WIJKBRUG_DATABASE_APP_ROLE: intake_app\n", "  WIJKBRUG_DATABASE_APP_ROLE: intake_app\n  WIJKBRUG_DATABASE_MAX_CONNS: \"12\"\n", "prod", "intake 11 pods × 13"},
		{"pool size left to pgx", "overlays/prod/kustomization.yaml", `WIJKBRUG_DATABASE_MAX_CONNS: "7"`, `WIJKBRUG_DATABASE_MAX_CONNS: "0"`, "prod", `WIJKBRUG_DATABASE_MAX_CONNS is "0": set a pool size`},
		{"a service over its role's connection limit", "postgres/cluster.yaml", "        connectionLimit: 100\n        passwordSecret: {name: referral-db-app-credentials}", "        connectionLimit: 50\n        passwordSecret: {name: referral-db-app-credentials}", "prod", "Deployment referral: 11 pods × 8 connections = 88 exceed role referral_app's connectionLimit 50"},
		{"webhook port closed", "base/networkpolicy.yaml", "      ports: [{port: 443}, {port: 8443}]\n", "      ports: [{port: 443}]\n", "prod", "no NetworkPolicy lets referral reach webhook endpoints on port 8443"},
		{"app role missing", "postgres/cluster.yaml", "      - name: referral_app\n", "      - name: referral_reader\n", "prod", "no managed login role referral_app"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			mem, err := MemFS(dir)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, c.file)
			b, err := mem.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(b), c.old) {
				t.Fatalf("%s no longer contains %q: update the test", c.file, c.old)
			}
			if err := mem.WriteFile(path, []byte(strings.Replace(string(b), c.old, c.new, 1))); err != nil {
				t.Fatal(err)
			}
			objs, err := Render(mem, filepath.Join(dir, "overlays", c.overlay))
			var report string
			if err != nil {
				report = err.Error()
			} else {
				env := Env{Prod: c.overlay == "prod", Metrics: metrics(t)}
				if env.Prod {
					env.ForeignOINs = OINs(devObjs)
				}
				report = strings.Join(Check(objs, env), "\n")
			}
			if !strings.Contains(report, c.want) {
				t.Fatalf("want a report containing %q, got:\n%s", c.want, report)
			}
		})
	}
}
