package validate

import (
	"slices"

	"github.com/wijkbrug/wijkbrug/pkg/feed"
	appsv1 "k8s.io/api/apps/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// checkWebhookEgress: the ports referral accepts webhook endpoints on (feed.WebhookPorts,
// enforced by its URL check) are ports a NetworkPolicy selecting referral's pods lets out to
// addresses outside the cluster (an ipBlock, or any destination). A port the check accepts
// and the network drops would fail every delivery until the subscription pauses.
func checkWebhookEgress(deployments []*appsv1.Deployment, netpols []*networkingv1.NetworkPolicy, bad func(string, ...any)) {
	var podLabels labels.Set
	for _, d := range deployments {
		if d.Name == "referral" {
			podLabels = d.Spec.Template.Labels
		}
	}
	if podLabels == nil {
		return // reported as a missing Deployment
	}
	var open []int
	restricted := false // some policy restricts referral's egress
	for _, np := range netpols {
		sel, err := metav1.LabelSelectorAsSelector(&np.Spec.PodSelector)
		if err != nil || !sel.Matches(podLabels) || !slices.Contains(np.Spec.PolicyTypes, networkingv1.PolicyTypeEgress) {
			continue
		}
		restricted = true
		for _, e := range np.Spec.Egress {
			outside := len(e.To) == 0
			for _, peer := range e.To {
				if peer.IPBlock != nil {
					outside = true
				}
			}
			if !outside {
				continue
			}
			if len(e.Ports) == 0 {
				return // every port
			}
			for _, p := range e.Ports {
				if p.Port != nil && (p.Protocol == nil || *p.Protocol == "TCP") {
					open = append(open, p.Port.IntValue())
				}
			}
		}
	}
	if !restricted {
		return
	}
	for _, p := range feed.WebhookPorts {
		if !slices.Contains(open, p) {
			bad("no NetworkPolicy lets referral reach webhook endpoints on port %d, which its URL check accepts (feed.WebhookPorts)", p)
		}
	}
}
