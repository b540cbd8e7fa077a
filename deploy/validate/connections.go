package validate

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/wijkbrug/wijkbrug/pkg/config"
	"github.com/wijkbrug/wijkbrug/pkg/svc"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// ConnectionReserve is the part of PostgreSQL's max_connections the services' pools may not
// take: superuser_reserved_connections (3), CloudNativePG's instance manager and metrics
// exporter (which connect as postgres), and the sessions of operators and of the wijkbrug
// tools (psql, outbox-status, parked replay) during an incident, when they are needed most.
// Streaming replication does not count: WAL senders are outside max_connections.
const ConnectionReserve = 40

// defaultMaxConnections is PostgreSQL's max_connections when the Cluster does not set it.
const defaultMaxConnections = 100

// serviceConnections is what one service's pods can hold open on the cluster at once.
type serviceConnections struct {
	service, role string
	pods          int // the HPA's maxReplicas (or replicas) plus the rollout's surge
	perPod        int
}

func (s serviceConnections) total() int { return s.pods * s.perPod }

// podConnections is how many connections one pod of a service opens: its pool
// (WIJKBRUG_DATABASE_MAX_CONNS, whose connections the consumers, the outbox relay and the
// background jobs share with the calls), the readiness check's own connection, and with
// WIJKBRUG_MIGRATE_ON_START the re-encryption's 2 (as the owner), which run beside the pool.
// The migration itself (goose, 2; in the migrate init container too) ends before the pool
// opens, so it never adds to a pod's count.
func podConnections(name string, values map[string]string, bad func(string, ...any)) int {
	conns := 0
	for _, it := range config.Describe(&svc.Config{}) {
		if it.Env == "WIJKBRUG_DATABASE_MAX_CONNS" {
			conns, _ = strconv.Atoi(it.Default)
		}
	}
	if v, ok := values["WIJKBRUG_DATABASE_MAX_CONNS"]; ok {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n <= 0 {
			// 0 leaves the size to pgx (4 or the node's CPUs, whichever is more): unknowable here.
			bad("Deployment %s: WIJKBRUG_DATABASE_MAX_CONNS is %q: set a pool size (a positive number) so the connection budget can be checked", name, v)
			return 0
		}
		conns = n
	}
	perPod := conns + 1
	if b, err := strconv.ParseBool(values["WIJKBRUG_MIGRATE_ON_START"]); err == nil && b {
		perPod += 2
	}
	return perPod
}

// maxPods is the most pods of a Deployment that run at once: the HPA's maxReplicas (else
// the Deployment's replicas, 1 when unset) plus the surge of a rolling update, which starts
// new pods while the old ones still hold their pools.
func maxPods(d *appsv1.Deployment, hpa *autoscalingv2.HorizontalPodAutoscaler) int {
	replicas := 1
	if hpa != nil {
		replicas = int(hpa.Spec.MaxReplicas)
	} else if d.Spec.Replicas != nil {
		replicas = int(*d.Spec.Replicas)
	}
	surge := 0
	if d.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType {
		s := intstr.FromString("25%") // the API's default
		if ru := d.Spec.Strategy.RollingUpdate; ru != nil && ru.MaxSurge != nil {
			s = *ru.MaxSurge
		}
		if n, err := intstr.GetScaledValueFromIntOrPercent(&s, replicas, true); err == nil {
			surge = n
		}
	}
	return replicas + surge
}

// checkConnections is the rule of docs/operations.md "Scale": the services' pods at their
// most, each with its whole pool and its other connections, fit PostgreSQL's
// max_connections less ConnectionReserve (there is no pooler in front), and each service
// fits its application role's connection limit (a pod over it cannot connect at all).
func checkConnections(usage []serviceConnections, clusters []*Cluster, bad func(string, ...any)) {
	if len(clusters) != 1 || len(usage) == 0 {
		return // checkPostgres reports the missing cluster
	}
	c := clusters[0]
	maxConns := defaultMaxConnections
	if c.Spec.PostgreSQL != nil {
		if v, ok := c.Spec.PostgreSQL.Parameters["max_connections"]; ok {
			n, err := strconv.Atoi(v)
			if err != nil {
				bad("Cluster %s: max_connections %q is not a number", c.Name, v)
				return
			}
			maxConns = n
		}
	}
	limits := map[string]int{}
	if c.Spec.Managed != nil {
		for _, r := range c.Spec.Managed.Roles {
			limits[r.Name] = r.ConnectionLimit
		}
	}
	sort.Slice(usage, func(i, j int) bool { return usage[i].service < usage[j].service })
	sum := 0
	var parts []string
	for _, u := range usage {
		sum += u.total()
		parts = append(parts, fmt.Sprintf("%s %d pods × %d", u.service, u.pods, u.perPod))
		// CNPG: -1 (or unset) is no limit.
		if limit := limits[u.role]; limit > 0 && u.total() > limit {
			bad("Deployment %s: %d pods × %d connections = %d exceed role %s's connectionLimit %d",
				u.service, u.pods, u.perPod, u.total(), u.role, limit)
		}
	}
	if budget := maxConns - ConnectionReserve; sum > budget {
		bad("database connections: %s = %d at full scale, more than Cluster %s's max_connections %d less %d reserved = %d "+
			"(lower WIJKBRUG_DATABASE_MAX_CONNS or maxReplicas, or raise max_connections; docs/operations.md \"Scale\")",
			strings.Join(parts, " + "), sum, c.Name, maxConns, ConnectionReserve, budget)
	}
}
